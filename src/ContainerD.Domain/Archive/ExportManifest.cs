using System.Text.Json;
using System.Text.Json.Serialization;
using ContainerD.Domain.Definitions;
using ContainerD.Domain.Yaml;
using YamlDotNet.RepresentationModel;

namespace ContainerD.Domain.Archive;

/// <summary>One generation an archive carries: its number on the exporting host and its system.</summary>
public sealed record ExportedGeneration(int Number, string System);

/// <summary>An archive's first section: what it holds, checked before anything is made from it.</summary>
public sealed record ExportManifest
{
    public const int MaxGenerations = 1000;
    public const int MaxBytes = 1 << 20;

    public required int FormatVersion { get; init; }
    public required string Name { get; init; }
    public required long UidCount { get; init; }
    public required DateTimeOffset ExportedAt { get; init; }
    public required int CurrentGeneration { get; init; }
    /// <summary>Oldest first; the current one among them.</summary>
    public required IReadOnlyList<ExportedGeneration> Generations { get; init; }

    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, ExportManifestJson.Default.ExportManifest);

    /// <summary>The manifest of an archive, or InvalidArgs saying what is wrong with it.</summary>
    public static ExportManifest Parse(ReadOnlySpan<byte> json)
    {
        ExportManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize(json, ExportManifestJson.Default.ExportManifest);
        }
        catch (JsonException e)
        {
            throw Refused($"its manifest is not valid JSON ({e.Message})");
        }
        if (manifest is null)
        {
            throw Refused("its manifest is empty");
        }
        if (manifest.FormatVersion != ExportArchive.FormatVersion)
        {
            throw Refused($"it is format version {manifest.FormatVersion}; this containerctld reads version {ExportArchive.FormatVersion}");
        }
        if (ContainerName.Problem(manifest.Name) is { } problem)
        {
            throw Refused($"its container name is not valid: {problem}");
        }
        if (manifest.UidCount is < 1 or > int.MaxValue)
        {
            throw Refused($"it asks for {manifest.UidCount} ids");
        }
        if (manifest.Generations is not { Count: > 0 and <= MaxGenerations } generations)
        {
            throw Refused($"it must carry between 1 and {MaxGenerations} generations");
        }
        foreach (var g in generations)
        {
            if (g is null || g.Number < 1 || !StorePath.IsValid(g.System))
            {
                throw Refused($"a generation is not a number and a store path: {g?.Number} {g?.System}");
            }
        }
        if (generations.Select(g => g.Number).Distinct().Count() != generations.Count || generations.All(g => g.Number != manifest.CurrentGeneration))
        {
            throw Refused("its generations repeat a number or do not hold the current one");
        }
        return manifest;
    }

    private static ContainerDException Refused(string why) => new(ErrorKind.InvalidArgs, $"the archive is refused: {why}; nothing was imported");
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(ExportManifest))]
public sealed partial class ExportManifestJson : JsonSerializerContext;

/// <summary>A store path as an archive may name one: /nix/store/HASH-NAME, one component, nothing that climbs.</summary>
public static class StorePath
{
    public static bool IsValid(string? path) =>
        path is { Length: > 44 and < 256 } && path.StartsWith("/nix/store/", StringComparison.Ordinal)
        && path.IndexOf('/', "/nix/store/".Length) < 0 && !path.Contains("..", StringComparison.Ordinal)
        && path["/nix/store/".Length..].All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '+' or '?' or '=');
}

/// <summary>A definition under another container name (an import with --name): its name key changed, the rest as it was.</summary>
public static class DefinitionRename
{
    public static string WithName(string yaml, string name)
    {
        ContainerName.Require(name);
        var errors = new YamlErrors("the archive's definition");
        var root = YamlLoader.LoadMapping(yaml, errors) ?? throw new ContainerDException(ErrorKind.InvalidDefinition, "the archive's definition is not a mapping");
        root.Children[new YamlScalarNode("name")] = new YamlScalarNode(name);
        var text = new StringWriter();
        new YamlStream(new YamlDocument(root)).Save(text, assignAnchors: false);
        // Save ends the document with "...": one document, no marker needed.
        return text.ToString().Replace("\n...\n", "\n", StringComparison.Ordinal);
    }
}
