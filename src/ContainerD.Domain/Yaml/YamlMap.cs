using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace ContainerD.Domain.Yaml;

/// <summary>
/// One YAML mapping read against a schema: keys outside it are reported, values are read as the
/// expected type, and each problem is reported at the value's line and column. Only the nodes of
/// known keys are ever looked at, so an alias into a huge structure costs nothing.
/// Getters return null when a key is absent, set to YAML null, or wrong (then reported), so a
/// caller falls back to its default and the error ends the parse anyway.
/// </summary>
internal sealed class YamlMap
{
    private readonly Dictionary<string, (YamlNode Key, YamlNode Value)> _entries = [];

    private YamlMap(YamlNode node, string path, YamlErrors errors)
    {
        Node = node;
        Path = path;
        Errors = errors;
    }

    /// <summary>The mapping itself (for an absent section, its parent), where "is required" errors point.</summary>
    public YamlNode Node { get; }

    /// <summary>The key path in messages: "" for the root, "idmap", "bindMounts[0]".</summary>
    public string Path { get; }

    public YamlErrors Errors { get; }

    /// <summary>Reads a mapping whose keys must be among <paramref name="allowed"/>.</summary>
    public static YamlMap Of(YamlMappingNode node, string path, YamlErrors errors, IReadOnlyList<string> allowed)
    {
        var map = new YamlMap(node, path, errors);
        foreach (var (key, value) in node.Children)
        {
            // The loader lets only scalar keys through.
            var name = ((YamlScalarNode)key).Value ?? "";
            if (allowed.Contains(name))
                map._entries[name] = (key, value);
            else
                errors.Add(key, $"unknown key {YamlText.Quote(name)}{(path.Length > 0 ? $" in {path}" : "")} (allowed keys: {string.Join(", ", allowed)})");
        }
        return map;
    }

    /// <summary>Like Of, but reports and returns null when the node is not a mapping.</summary>
    public static YamlMap? Read(YamlNode node, string path, YamlErrors errors, IReadOnlyList<string> allowed)
    {
        if (node is YamlMappingNode mapping)
            return Of(mapping, path, errors, allowed);
        errors.Add(node, $"{path} must be a mapping, not {YamlText.Describe(node)}");
        return null;
    }

    public string PathOf(string key) => Path.Length == 0 ? key : $"{Path}.{key}";

    /// <summary>The value of a key, or null when it is absent or YAML null.</summary>
    public YamlNode? Get(string key) =>
        _entries.TryGetValue(key, out var entry) && !YamlText.IsNull(entry.Value) ? entry.Value : null;

    public bool Has(string key) => Get(key) is not null;

    /// <summary>Reports a problem at the key's value.</summary>
    public void Error(string key, string message) =>
        Errors.Add(_entries.TryGetValue(key, out var entry) ? entry.Value : Node, message);

    /// <summary>Reports a problem of the mapping as a whole.</summary>
    public void Error(string message) => Errors.Add(Node, message);

    /// <summary>Reports a missing required key at the mapping.</summary>
    public void Missing(string key, string hint = "") =>
        Error($"{PathOf(key)} is required{(hint.Length > 0 ? $": {hint}" : "")}");

    /// <summary>A sub-mapping; an empty one when absent, so its defaults apply; null when it is not a mapping.</summary>
    public YamlMap? Section(string key, IReadOnlyList<string> allowed) =>
        Get(key) is { } node ? Read(node, PathOf(key), Errors, allowed) : new YamlMap(Node, PathOf(key), Errors);

    /// <summary>The items of a list; none when absent or not a list.</summary>
    public IReadOnlyList<YamlNode> List(string key)
    {
        switch (Get(key))
        {
            case null:
                return [];
            case YamlSequenceNode sequence:
                return sequence.Children.ToList();
            case var node:
                Errors.Add(node, $"{PathOf(key)} must be a list, not {YamlText.Describe(node)}");
                return [];
        }
    }

    /// <summary>The entries of a free-form mapping (keys not fixed by the schema); none when absent or not a mapping.</summary>
    public IEnumerable<(YamlScalarNode Key, YamlNode Value)> Pairs(string key)
    {
        switch (Get(key))
        {
            case null:
                return [];
            case YamlMappingNode mapping:
                // The loader lets only scalar keys through.
                return mapping.Children.Select(entry => ((YamlScalarNode)entry.Key, entry.Value)).ToList();
            case var node:
                Errors.Add(node, $"{PathOf(key)} must be a mapping, not {YamlText.Describe(node)}");
                return [];
        }
    }

    /// <summary>A scalar's text, however quoted.</summary>
    public string? String(string key) => Scalar(key, "a string")?.Value;

    /// <summary>A string that must be present.</summary>
    public string? RequiredString(string key, string hint = "")
    {
        if (Has(key))
            return String(key);
        Missing(key, hint);
        return null;
    }

    /// <summary>Only an unquoted true or false: "yes", "on" or "1" are mistakes as often as not.</summary>
    public bool Bool(string key, bool fallback)
    {
        var scalar = Scalar(key, "true or false");
        if (scalar is null)
            return fallback;
        if (scalar is { Style: ScalarStyle.Plain, Value: "true" or "false" })
            return scalar.Value == "true";
        Error(key, $"{PathOf(key)} must be true or false, not {YamlText.Describe(scalar)}");
        return fallback;
    }

    /// <summary>An unquoted decimal integer.</summary>
    public long? Integer(string key)
    {
        var scalar = Scalar(key, "an integer");
        if (scalar is null)
            return null;
        if (scalar.Style == ScalarStyle.Plain
            && long.TryParse(scalar.Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
            return value;
        Error(key, $"{PathOf(key)} must be an integer, not {YamlText.Describe(scalar)}");
        return null;
    }

    /// <summary>An unquoted finite decimal number.</summary>
    public double? Number(string key)
    {
        var scalar = Scalar(key, "a number");
        if (scalar is null)
            return null;
        if (scalar.Style == ScalarStyle.Plain
            && double.TryParse(scalar.Value, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value)
            && double.IsFinite(value))
            return value;
        Error(key, $"{PathOf(key)} must be a number, not {YamlText.Describe(scalar)}");
        return null;
    }

    /// <summary>One of a few words; <paramref name="fallback"/> when absent, null when it is none of them.</summary>
    public string? Word(string key, string fallback, params string[] words)
    {
        if (!Has(key))
            return fallback;
        var value = String(key);
        if (value is null || words.Contains(value))
            return value;
        Error(key, $"{PathOf(key)} must be one of {string.Join(", ", words)}, not {YamlText.Quote(value)}");
        return null;
    }

    private YamlScalarNode? Scalar(string key, string expected)
    {
        switch (Get(key))
        {
            case null:
                return null;
            case YamlScalarNode scalar:
                return scalar;
            case var node:
                Errors.Add(node, $"{PathOf(key)} must be {expected}, not {YamlText.Describe(node)}");
                return null;
        }
    }
}
