using System.Text;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace ContainerD.Domain.Yaml;

/// <summary>
/// Turns untrusted text (it may arrive over D-Bus) into the root mapping of one YAML document.
/// Size, nesting and the shape of keys are checked on the event stream before any node is built,
/// because YamlDotNet's node model is not safe against hostile input on its own.
/// </summary>
internal static class YamlLoader
{
    public const int MaxBytes = 1 << 20;

    // Our schemas are four levels deep. Deeper nesting only serves to make YamlDotNet's scanner
    // slow (it is quadratic in flow nesting: 200 000 '[' take a minute) or its node builder,
    // which recurses, overflow the stack.
    private const int MaxDepth = 64;

    /// <summary>
    /// The root mapping, or null when the document is empty (no error) or unusable (errors say why).
    /// </summary>
    public static YamlMappingNode? LoadMapping(string yaml, YamlErrors errors)
    {
        // A byte order mark may begin a YAML stream; YamlDotNet reads one in a string as text.
        if (yaml.StartsWith('\uFEFF'))
            yaml = yaml[1..];
        var bytes = Encoding.UTF8.GetByteCount(yaml);
        if (bytes > MaxBytes)
        {
            errors.AddWhole($"the document is {bytes} bytes long; the limit is {MaxBytes} bytes (1 MiB)");
            return null;
        }

        var stream = new YamlStream();
        try
        {
            if (!CheckStructure(yaml, errors))
                return null;
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException e)
        {
            errors.Add(e.Start, $"malformed YAML: {e.Message}");
            return null;
        }

        if (stream.Documents.Count == 0)
            return null;
        if (stream.Documents.Count > 1)
        {
            errors.Add(stream.Documents[1].RootNode, "only one YAML document is allowed; remove the second '---'");
            return null;
        }
        var root = stream.Documents[0].RootNode;
        if (root is YamlMappingNode mapping)
            return mapping;
        if (!YamlText.IsNull(root))
            errors.Add(root, $"the document must be a mapping of keys to values, not {YamlText.Describe(root)}");
        return null;
    }

    /// <summary>
    /// Walks the events once: nesting depth, keys that are collections or aliases (YamlStream
    /// hashes keys, and hashing an aliased "billion laughs" key never ends), duplicate keys.
    /// Returns false if the document must not be loaded.
    /// </summary>
    private static bool CheckStructure(string yaml, YamlErrors errors)
    {
        var parser = new Parser(new StringReader(yaml));
        var open = new Stack<OpenCollection>();
        var ok = true;
        while (Next(parser))
        {
            var e = parser.Current!;
            var parent = open.Count > 0 ? open.Peek() : null;
            var isKey = parent is { Keys: not null, AtKey: true };
            switch (e)
            {
                case MappingStart or SequenceStart or AnchorAlias when isKey:
                    errors.Add(e.Start, "a key must be a plain value, not a mapping, a list or an alias");
                    return false;
                case MappingStart or SequenceStart when open.Count == MaxDepth:
                    errors.Add(e.Start, $"the document is nested more than {MaxDepth} levels deep");
                    return false;
                case MappingStart or SequenceStart:
                    open.Push(new OpenCollection(e is MappingStart));
                    continue; // the parent's key/value turn passes when this collection ends
                case MappingEnd or SequenceEnd:
                    open.Pop();
                    break;
                case Scalar key when isKey:
                    if (!parent!.Keys!.TryAdd(key.Value, key.Start))
                    {
                        errors.Add(key.Start, $"duplicate key {YamlText.Quote(key.Value)}; it is already set on line {parent.Keys[key.Value].Line}");
                        ok = false;
                    }
                    break;
                case Scalar or AnchorAlias:
                    break;
                default:
                    continue; // stream and document events are not nodes
            }
            if (open.TryPeek(out var current) && current.Keys is not null)
                current.AtKey = !current.AtKey;
        }
        return ok;
    }

    private static bool Next(Parser parser)
    {
        try
        {
            return parser.MoveNext();
        }
        catch (InvalidOperationException)
        {
            // YamlDotNet's scanner throws this, without a position, on some unclosed flow collections.
            var at = parser.Current?.End ?? Mark.Empty;
            throw new SyntaxErrorException(at, at, "could not read past this point; is a '[', '{' or quote left open?");
        }
    }

    private sealed class OpenCollection(bool isMapping)
    {
        /// <summary>For a mapping, its keys so far and where they are; null for a list.</summary>
        public Dictionary<string, Mark>? Keys { get; } = isMapping ? [] : null;

        /// <summary>For a mapping, whether the next node is a key.</summary>
        public bool AtKey { get; set; } = isMapping;
    }
}
