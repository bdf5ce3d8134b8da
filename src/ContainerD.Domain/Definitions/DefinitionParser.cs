using System.Text.RegularExpressions;
using ContainerD.Domain.Yaml;
using YamlDotNet.RepresentationModel;

namespace ContainerD.Domain.Definitions;

/// <summary>
/// Reads a container definition (DESIGN.md, "Container definition") and rejects it, before anything
/// is created, with every problem it has: file, line, column, key path and what was expected.
/// </summary>
public static partial class DefinitionParser
{
    private static readonly string[] Keys =
        ["name", "system", "autostart", "idmap", "bindMounts", "network", "limits", "stopTimeout", "activation", "ephemeral", "nix"];

    /// <param name="yaml">The definition's text.</param>
    /// <param name="source">What to call it in messages, usually the file name.</param>
    /// <param name="expectedName">The container's name when the caller knows it (from the file
    /// name or the D-Bus call); then the definition may leave out <c>name</c>, but must not contradict it.</param>
    /// <exception cref="InvalidDefinitionException">With every problem found.</exception>
    public static ContainerDefinition Parse(string yaml, string source, string? expectedName = null)
    {
        var errors = new YamlErrors(source);
        var root = YamlLoader.LoadMapping(yaml, errors);
        if (root is null)
        {
            if (!errors.Any)
                errors.AddWhole("the definition is empty; it needs at least name and system");
            errors.Throw();
        }

        var map = YamlMap.Of(root, "", errors, Keys);
        var name = ReadName(map, expectedName);
        var system = ReadSystem(map);
        var autostart = map.Bool("autostart", false);
        var idMap = ReadIdMap(map);
        var bindMounts = ReadBindMounts(map);
        var network = ReadNetwork(map);
        var limits = ReadLimits(map);
        var stopTimeout = ReadStopTimeout(map);
        var activation = ReadActivation(map);
        var ephemeral = map.Bool("ephemeral", false);
        var nixDaemon = ReadNixDaemon(map);
        errors.ThrowIfAny();

        // Each null above came with an error, so none is left here.
        return new ContainerDefinition(name!, system!, autostart, idMap!, bindMounts, network!, limits!, stopTimeout!.Value, activation!.Value,
            ephemeral, nixDaemon);
    }

    private static string? ReadName(YamlMap map, string? expectedName)
    {
        if (!map.Has("name"))
        {
            if (expectedName is null)
                map.Missing("name");
            else if (ContainerName.Problem(expectedName) is { } problem)
                map.Errors.AddWhole(problem);
            return expectedName;
        }

        var name = map.String("name");
        if (name is null)
            return null;
        if (ContainerName.Problem(name) is { } nameProblem)
        {
            map.Error("name", nameProblem);
            return null;
        }
        if (expectedName is not null && name != expectedName)
        {
            map.Error("name", $"name {YamlText.Quote(name)} does not match the container name {YamlText.Quote(expectedName)}");
            return null;
        }
        return name;
    }

    private static SystemSource? ReadSystem(YamlMap map)
    {
        if (!map.Has("system"))
        {
            map.Missing("system", "give system.nix (a Nix file to build), system.flake (PATH#NAME) or system.path (a store path)");
            return null;
        }
        var system = map.Section("system", ["nix", "flake", "path"]);
        if (system is null)
            return null;
        string[] given = [.. new[] { "nix", "flake", "path" }.Where(system.Has)];
        switch (given)
        {
            case []:
                system.Error("system needs nix (a Nix file to build), flake (PATH#NAME) or path (a store path)");
                return null;
            case ["nix"]:
                return ReadNix(system);
            case ["flake"]:
                return ReadFlake(system);
            case ["path"]:
                return ReadStorePath(system);
            default:
                system.Error($"system has {(given.Length == 2 ? "both " : "")}{string.Join(" and ", given)}; give exactly one");
                return null;
        }
    }

    /// <summary>
    /// A local flake: "/srv/web#web" → nixosConfigurations.web.config.system.build.toplevel of the
    /// flake in /srv/web; a fragment with a dot ("/srv/web#packages.x86_64-linux.web") is used as it is.
    /// Only a path: the daemon builds as root, and a remote reference would fetch from the network.
    /// </summary>
    private static FlakeSystem? ReadFlake(YamlMap system)
    {
        var flake = system.String("flake");
        if (flake is null)
            return null;
        int hash = flake.IndexOf('#', StringComparison.Ordinal);
        if (hash < 0)
        {
            system.Error("flake", $"system.flake {YamlText.Quote(flake)} names no configuration: write PATH#NAME, e.g. /srv/web#web");
            return null;
        }
        string path = flake[..hash], fragment = flake[(hash + 1)..];
        if (PathRules.Problem(path) is { } problem)
        {
            system.Error("flake", $"system.flake path {YamlText.Quote(path)} {problem} (only a local flake directory is built)");
            return null;
        }
        if (!FlakeAttribute().IsMatch(fragment))
        {
            system.Error("flake", $"system.flake {YamlText.Quote(flake)}: after '#' comes a configuration name or an attribute path (letters, digits, '_', '-', '.')");
            return null;
        }
        string attribute = fragment.Contains('.', StringComparison.Ordinal)
            ? fragment
            : $"nixosConfigurations.{fragment}.config.system.build.toplevel";
        return new FlakeSystem(path, attribute);
    }

    private static NixExpressionSystem? ReadNix(YamlMap system)
    {
        var nix = system.Section("nix", ["file", "attr", "args"]);
        if (nix is null)
            return null;

        var file = nix.RequiredString("file", "the Nix file that evaluates to the system");
        if (file is not null && PathRules.Problem(file) is { } fileProblem)
            nix.Error("file", $"system.nix.file {YamlText.Quote(file)} {fileProblem}");

        var attr = nix.String("attr");
        if (attr is not null && (attr.Length == 0 || attr.Any(c => char.IsWhiteSpace(c) || char.IsControl(c))))
            nix.Error("attr", $"system.nix.attr {YamlText.Quote(attr)} must be an attribute path such as 'system', without spaces");

        return new NixExpressionSystem(file ?? "", attr, NixArgs(nix));
    }

    /// <summary>--argstr NAME VALUE pairs: the names must be Nix identifiers so they reach the function intact.</summary>
    private static Dictionary<string, string> NixArgs(YamlMap nix)
    {
        var args = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in nix.Pairs("args"))
        {
            var name = key.Value ?? "";
            if (!NixIdentifier().IsMatch(name))
                nix.Errors.Add(key, $"system.nix.args key {YamlText.Quote(name)} is not a Nix identifier (a letter or '_', then letters, digits, '_', ''' or '-')");
            else if (value is YamlScalarNode scalar && !YamlText.IsNull(scalar))
                args[name] = scalar.Value ?? "";
            else
                nix.Errors.Add(value, $"system.nix.args.{name} must be a string, not {(YamlText.IsNull(value) ? "empty" : YamlText.Describe(value))}");
        }
        return args;
    }

    private static StorePathSystem? ReadStorePath(YamlMap system)
    {
        var path = system.String("path");
        if (path is null)
            return null;
        if (!StorePathPattern().IsMatch(path))
        {
            system.Error("path", $"system.path {YamlText.Quote(path)} is not a store path such as /nix/store/<32-character hash>-nixos-system-web");
            return null;
        }
        return new StorePathSystem(path);
    }

    private static IdMapRequest? ReadIdMap(YamlMap map)
    {
        const long granularity = IdMapRequest.Granularity;
        var idmap = map.Section("idmap", ["size", "base"]);
        if (idmap is null)
            return null;
        var size = idmap.Integer("size") ?? granularity;
        var @base = idmap.Integer("base");
        var ok = true;

        if (size <= 0 || size % granularity != 0)
            ok = Fail(idmap, "size", $"idmap.size {size} is not a {(size <= 0 ? "positive " : "")}multiple of {granularity}");
        else if (size > MaxIdMapSize)
            ok = Fail(idmap, "size", $"idmap.size {size} is larger than the id space allows ({MaxIdMapSize})");

        switch (@base)
        {
            case null:
                break;
            case < 0:
                ok = Fail(idmap, "base", $"idmap.base {@base} must not be negative");
                break;
            case 0:
                ok = Fail(idmap, "base", "idmap.base 0 would make the container's root the host's root; leave base out or pick a range in the pool");
                break;
            case var b when b % granularity != 0:
                ok = Fail(idmap, "base", $"idmap.base {b} is not a multiple of {granularity}");
                break;
            case var b when ok && b + size > IdLimit:
                ok = Fail(idmap, "base", $"idmap.base {b} + idmap.size {size} reach past the last usable id ({IdLimit - 1})");
                break;
        }

        return ok ? new IdMapRequest(size, @base) : null;
    }

    // Ids are 32 bits and (uid_t)-1 is reserved: every mapped id must lie below it.
    private const long IdLimit = (1L << 32) - 1;
    private const long MaxIdMapSize = IdLimit / IdMapRequest.Granularity * IdMapRequest.Granularity;

    /// <summary>nix: { daemon: true }: the host's Nix through its daemon socket (the only key so far).</summary>
    private static bool ReadNixDaemon(YamlMap map)
    {
        var nix = map.Section("nix", ["daemon"]);
        return nix is not null && nix.Bool("daemon", false);
    }

    private static Activation? ReadActivation(YamlMap map) => map.Word("activation", "auto", "auto", "switch", "restart", "none") switch
    {
        "auto" => Activation.Auto,
        "switch" => Activation.Switch,
        "restart" => Activation.Restart,
        "none" => Activation.None,
        _ => null,
    };

    /// <summary>Reports at a key and returns false, so checks read as <c>ok = Fail(…)</c>.</summary>
    private static bool Fail(YamlMap map, string key, string message)
    {
        map.Error(key, message);
        return false;
    }

    // Nix's own identifier syntax.
    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_'-]*\\z", RegexOptions.CultureInvariant)]
    private static partial Regex NixIdentifier();

    /// <summary>Attribute names joined by dots; each a Nix identifier (digits allowed first, as in x86_64-linux).</summary>
    [GeneratedRegex(@"^[A-Za-z0-9_][A-Za-z0-9_'-]*(\.[A-Za-z0-9_][A-Za-z0-9_'-]*)*\z", RegexOptions.CultureInvariant)]
    private static partial Regex FlakeAttribute();

    // /nix/store/<hash in Nix's base32, which has no e, o, u, t>-<name>; a name never starts with '.'.
    [GeneratedRegex("^/nix/store/[0-9abcdfghijklmnpqrsvwxyz]{32}-[A-Za-z0-9+_?=-][A-Za-z0-9+._?=-]{0,210}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex StorePathPattern();
}
