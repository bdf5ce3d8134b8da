using System.Text;
using System.Text.Json;
using YamlDotNet.RepresentationModel;

namespace ContainerD.Cli;

/// <summary>
/// Where a container's system comes from, as create and update take it on the command line:
/// --nix FILE [-A ATTR] [--arg K V]…, --flake PATH#NAME or --system PATH (-f FILE is a whole definition).
/// </summary>
public sealed record SystemChoice(string? Nix, string? Attr, IReadOnlyList<(string Key, string Value)> NixArgs, string? Flake, string? StorePath)
{
    /// <summary>Takes --nix/-A/--arg/--flake/--system; null when none is given.</summary>
    public static SystemChoice? From(Arguments args)
    {
        string? nix = args.Option("--nix");
        string? attr = args.Option("-A", "--attr");
        var nixArgs = args.Pairs("--arg");
        string? system = args.Option("--system");
        string? flake = args.Option("--flake");
        if (nix is null && flake is null && system is null)
        {
            return attr is null && nixArgs.Count == 0 ? null : throw args.Usage("-A and --arg go with --nix FILE");
        }
        if ((nix is null ? 0 : 1) + (system is null ? 0 : 1) + (flake is null ? 0 : 1) != 1)
        {
            throw args.Usage("give one of --nix FILE, --flake PATH#NAME or --system PATH");
        }
        if (nix is null && (attr is not null || nixArgs.Count > 0))
        {
            throw args.Usage(flake is not null ? "-A and --arg go with --nix; a flake names its configuration after '#'" : "-A and --arg go with --nix FILE");
        }
        // The daemon reads the files: relative paths are made absolute here.
        int hash = flake?.IndexOf('#', StringComparison.Ordinal) ?? -1;
        return new SystemChoice(nix is null ? null : Path.GetFullPath(nix), attr, nixArgs,
            flake is null ? null : hash > 0 ? Path.GetFullPath(flake[..hash]) + flake[hash..] : flake, system);
    }

    /// <summary>The same system, prebuilt: what a push turns a build into.</summary>
    public static SystemChoice Prebuilt(string storePath) => new(null, null, [], null, storePath);

    /// <summary>A whole definition of name with this system (JSON is YAML).</summary>
    public string Definition(string name, bool autostart)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("name", name);
            json.WritePropertyName("system");
            WriteSystem(json);
            json.WriteBoolean("autostart", autostart);
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }

    private void WriteSystem(Utf8JsonWriter json)
    {
        json.WriteStartObject();
        if (Nix is not null)
        {
            json.WriteStartObject("nix");
            json.WriteString("file", Nix);
            if (Attr is not null)
            {
                json.WriteString("attr", Attr);
            }
            if (NixArgs.Count > 0)
            {
                json.WriteStartObject("args");
                foreach (var (key, value) in NixArgs)
                {
                    json.WriteString(key, value);
                }
                json.WriteEndObject();
            }
            json.WriteEndObject();
        }
        else if (Flake is not null)
        {
            json.WriteString("flake", Flake);
        }
        else
        {
            json.WriteString("path", StorePath);
        }
        json.WriteEndObject();
    }

    /// <summary>The system as a block mapping; Nix arguments quoted, so that "1" or "true" stay strings.</summary>
    private YamlMappingNode SystemNode()
    {
        if (Nix is not null)
        {
            var nix = new YamlMappingNode { { "file", Nix } };
            if (Attr is not null)
            {
                nix.Add("attr", Attr);
            }
            if (NixArgs.Count > 0)
            {
                var args = new YamlMappingNode();
                foreach (var (key, value) in NixArgs)
                {
                    args.Add(key, new YamlScalarNode(value) { Style = YamlDotNet.Core.ScalarStyle.DoubleQuoted });
                }
                nix.Add("args", args);
            }
            return new YamlMappingNode { { "nix", nix } };
        }
        return Flake is not null ? new YamlMappingNode { { "flake", Flake } } : new YamlMappingNode { { "path", StorePath! } };
    }

    /// <summary>
    /// A container's current definition with its system replaced by this one and everything else
    /// kept (network, limits, mounts…; comments are not). A definition that is not a YAML mapping is
    /// left for the daemon to refuse.
    /// </summary>
    /// <exception cref="CliException">The definition cannot be read as YAML.</exception>
    public string ReplaceSystemOf(string definitionYaml)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(definitionYaml));
        }
        catch (YamlDotNet.Core.YamlException e)
        {
            throw new CliException(ExitCodes.InvalidInput, $"the container's current definition cannot be read to replace its system: {e.Message}");
        }
        if (stream.Documents.Count != 1 || stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            throw new CliException(ExitCodes.InvalidInput, "the container's current definition is not a YAML mapping: give the whole definition with -f FILE");
        }
        root.Children[new YamlScalarNode("system")] = SystemNode();
        var text = new StringWriter();
        stream.Save(text, assignAnchors: false);
        return text.ToString();
    }
}
