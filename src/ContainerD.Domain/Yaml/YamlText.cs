using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace ContainerD.Domain.Yaml;

/// <summary>How user values appear in messages, and what counts as a YAML null.</summary>
internal static class YamlText
{
    /// <summary>"'yes'", "the string \"true\"", "a mapping", "a list": what the user wrote, briefly.</summary>
    public static string Describe(YamlNode node) => node switch
    {
        YamlMappingNode => "a mapping",
        YamlSequenceNode => "a list",
        YamlScalarNode { Style: ScalarStyle.Plain } scalar => Quote(scalar.Value ?? ""),
        YamlScalarNode scalar => $"the string \"{Clean(scalar.Value ?? "")}\"",
        _ => "an unknown node",
    };

    /// <summary>A user value in single quotes, cut short and without line breaks, so it cannot garble a message.</summary>
    public static string Quote(string value) => $"'{Clean(value)}'";

    /// <summary>An unquoted, untagged empty value, ~ or null: YAML's way of saying "not set".</summary>
    public static bool IsNull(YamlNode node) =>
        node is YamlScalarNode { Style: ScalarStyle.Plain } scalar
        && scalar.Tag.IsEmpty
        && scalar.Value is "" or "~" or "null" or "Null" or "NULL";

    private static string Clean(string value)
    {
        var shown = value.Length <= 200 ? value : value[..200] + "…";
        return string.Concat(shown.Select(c => char.IsControl(c) ? '?' : c));
    }
}
