using System.Text.RegularExpressions;
using ContainerD.Domain.Definitions;
using ContainerD.Domain.IdMapping;
using ContainerD.Domain.Yaml;

namespace ContainerD.Domain.Configuration;

/// <summary>
/// Reads the daemon config (DESIGN.md, "Daemon config"). Every key is optional; problems are
/// reported all at once, as for definitions, with an InvalidDefinitionException.
/// </summary>
public static partial class DaemonConfigParser
{
    private static readonly string[] Keys =
    [
        "bus", "busName", "stateDir", "definitionsDir", "profilesDir", "gcRootsDir", "lxcPath", "runtimeDir",
        "idPool", "manageSubIds", "adminGroup", "pruneDeclarative", "defaultLimits", "bindSourceRoots",
        "substituters", "trustedPublicKeys",
    ];

    // Ids below this are the host's own users and system accounts; a container's root must never be one.
    private const long MinPoolBase = 65536;
    // The pool must hold at least one container.
    private const long MinPoolSize = 65536;
    // Ids are 32 bits and (uid_t)-1 is reserved: every pooled id must lie below it.
    private const long IdLimit = (1L << 32) - 1;

    /// <exception cref="Definitions.InvalidDefinitionException">With every problem found.</exception>
    public static DaemonConfig Parse(string yaml, string source)
    {
        var errors = new YamlErrors(source);
        var defaults = new DaemonConfig();
        var root = YamlLoader.LoadMapping(yaml, errors);
        errors.ThrowIfAny();
        if (root is null)
            return defaults;

        var map = YamlMap.Of(root, "", errors, Keys);
        // runtimeDir: accepted (older config files name it) and checked, but nothing uses it.
        _ = AbsoluteDir(map, "runtimeDir");
        var config = new DaemonConfig
        {
            Bus = Bus(map) ?? defaults.Bus,
            BusName = Checked(map, "busName", BusNamePattern(), "is not a D-Bus well-known name such as io.containerctl.ContainerD1") ?? defaults.BusName,
            StateDir = AbsoluteDir(map, "stateDir") ?? defaults.StateDir,
            DefinitionsDir = AbsoluteDir(map, "definitionsDir") ?? defaults.DefinitionsDir,
            ProfilesDir = AbsoluteDir(map, "profilesDir") ?? defaults.ProfilesDir,
            GcRootsDir = AbsoluteDir(map, "gcRootsDir") ?? defaults.GcRootsDir,
            LxcPath = AbsoluteDir(map, "lxcPath") ?? defaults.LxcPath,
            IdPool = IdPool(map) ?? defaults.IdPool,
            ManageSubIds = map.Bool("manageSubIds", defaults.ManageSubIds),
            AdminGroup = Checked(map, "adminGroup", GroupNamePattern(), "is not a group name: a lower-case letter or '_', then up to 31 lower-case letters, digits, '_' or '-'") ?? defaults.AdminGroup,
            PruneDeclarative = map.Bool("pruneDeclarative", defaults.PruneDeclarative),
            DefaultLimits = DefaultLimits(map, defaults.DefaultLimits),
            BindSourceRoots = BindSourceRoots(map) ?? defaults.BindSourceRoots,
            BinaryCaches = BinaryCaches(map),
        };
        errors.ThrowIfAny();
        return config;
    }

    /// <summary>
    /// defaultLimits, written as a definition's limits, replaces the defaults as a whole: a key left
    /// out has no default, and `defaultLimits: {}` sets none.
    /// </summary>
    private static ResourceLimits DefaultLimits(YamlMap map, ResourceLimits defaults) =>
        map.Has("defaultLimits") ? DefinitionParser.ReadLimits(map, "defaultLimits") ?? ResourceLimits.None : defaults;

    /// <summary>bindSourceRoots: absolute, normal paths; "/" would let members bind anything (and is refused).</summary>
    private static PathList? BindSourceRoots(YamlMap map)
    {
        if (!map.Has("bindSourceRoots"))
            return null;
        var roots = new List<string>();
        var items = map.List("bindSourceRoots");
        for (var i = 0; i < items.Count; i++)
        {
            string key = $"bindSourceRoots[{i}]";
            if (items[i] is not YamlDotNet.RepresentationModel.YamlScalarNode { Value: { } path })
            {
                map.Errors.Add(items[i], $"{key} must be a path, not {YamlText.Describe(items[i])}");
                continue;
            }
            if (PathRules.MountProblem(path) is { } problem)
                map.Errors.Add(items[i], $"{key} {YamlText.Quote(path)} {problem}");
            else if (path == "/")
                map.Errors.Add(items[i], $"{key} '/' would let group members bind any host path (/etc, /root, the Nix database); name the directories they may use");
            else
                roots.Add(path);
        }
        return new PathList(roots);
    }

    /// <summary>
    /// substituters and trustedPublicKeys: lists of words Nix takes space-separated (so none may hold
    /// a space). Caches without keys are refused: every path from them must carry a signature.
    /// </summary>
    private static BinaryCaches BinaryCaches(YamlMap map)
    {
        var substituters = Words(map, "substituters", SubstituterPattern(),
            "is not a binary cache URL such as file:///srv/nix-cache or https://cache.example.org (no spaces)");
        var keys = Words(map, "trustedPublicKeys", PublicKeyPattern(),
            "is not a public key as nix-store --generate-binary-cache-key writes it: NAME:BASE64 (44 characters), e.g. cache.example.org-1:…=");
        if (substituters.Count > 0 && !map.Has("trustedPublicKeys"))
        {
            map.Error("substituters", "substituters need trustedPublicKeys: a path is taken from a cache only with a signature by one of them (the daemon never turns signature checks off)");
        }
        return substituters.Count == 0 && keys.Count == 0 ? Configuration.BinaryCaches.None : new BinaryCaches(substituters, keys);
    }

    private static List<string> Words(YamlMap map, string key, Regex pattern, string problem)
    {
        var words = new List<string>();
        if (!map.Has(key))
            return words;
        var items = map.List(key);
        for (var i = 0; i < items.Count; i++)
        {
            if (items[i] is not YamlDotNet.RepresentationModel.YamlScalarNode { Value: { } word })
                map.Errors.Add(items[i], $"{key}[{i}] must be a string, not {YamlText.Describe(items[i])}");
            else if (!pattern.IsMatch(word))
                map.Errors.Add(items[i], $"{key}[{i}] {YamlText.Quote(word)} {problem}");
            else
                words.Add(word);
        }
        return words;
    }

    private static string? Bus(YamlMap map)
    {
        var bus = map.String("bus");
        if (bus is null or "system" or "session" || BusAddressPattern().IsMatch(bus))
            return bus;
        map.Error("bus", $"bus {YamlText.Quote(bus)} must be system, session or a D-Bus address such as unix:path=/run/dbus/system_bus_socket");
        return null;
    }

    // These paths end up in LXC config and mount entries, so they follow the stricter mount rules.
    private static string? AbsoluteDir(YamlMap map, string key)
    {
        var path = map.String(key);
        if (path is not null && PathRules.MountProblem(path) is { } problem)
        {
            map.Error(key, $"{key} {YamlText.Quote(path)} {problem}");
            return null;
        }
        return path;
    }

    private static string? Checked(YamlMap map, string key, Regex pattern, string problem)
    {
        var value = map.String(key);
        if (value is null || pattern.IsMatch(value))
            return value;
        map.Error(key, $"{key} {YamlText.Quote(value)} {problem}");
        return null;
    }

    /// <summary>
    /// The pool need not be aligned (the default starts at 100000): the allocator hands out
    /// aligned ranges inside it.
    /// </summary>
    private static IdRange? IdPool(YamlMap map)
    {
        var pool = map.Section("idPool", ["base", "size"]);
        if (pool is null)
            return null;
        var defaults = new DaemonConfig().IdPool;
        var start = pool.Integer("base") ?? defaults.Start;
        var count = pool.Integer("size") ?? defaults.Count;
        var ok = true;
        if (start < MinPoolBase)
        {
            pool.Error("base", $"idPool.base {start} would overlap the host's own users; start the pool at {MinPoolBase} or above");
            ok = false;
        }
        if (count < MinPoolSize)
        {
            pool.Error("size", $"idPool.size {count} is too small for one container; it must be at least {MinPoolSize}");
            ok = false;
        }
        if (ok && start + count > IdLimit)
        {
            pool.Error(pool.Has("size") ? "size" : "base", $"idPool.base {start} + idPool.size {count} reach past the last usable id ({IdLimit - 1})");
            ok = false;
        }
        return ok ? new IdRange(start, count) : null;
    }

    // "unix:path=…", "tcp:host=…,port=…": a transport name, a colon, then key=value pairs.
    [GeneratedRegex("^[a-z][a-z0-9-]*:([A-Za-z0-9_-]+=[^,;]+(,[A-Za-z0-9_-]+=[^,;]+)*)?\\z", RegexOptions.CultureInvariant)]
    private static partial Regex BusAddressPattern();

    // Nix's store URLs a daemon may substitute from; file:// with an absolute path.
    [GeneratedRegex(@"^(file:///[^\s]*|(https?|s3|ssh|ssh-ng)://[^\s/][^\s]*)\z", RegexOptions.CultureInvariant)]
    private static partial Regex SubstituterPattern();

    // An ed25519 public key as Nix writes it: a name without ':' or spaces, then 32 bytes in base64.
    [GeneratedRegex(@"^[A-Za-z0-9._+-]+:[A-Za-z0-9+/]{43}=\z", RegexOptions.CultureInvariant)]
    private static partial Regex PublicKeyPattern();

    // D-Bus spec: two or more dot-separated elements of [A-Za-z0-9_-], none starting with a digit, 255 at most.
    [GeneratedRegex("^(?=.{1,255}\\z)[A-Za-z_-][A-Za-z0-9_-]*(\\.[A-Za-z_-][A-Za-z0-9_-]*)+\\z", RegexOptions.CultureInvariant)]
    private static partial Regex BusNamePattern();

    // shadow's useradd/groupadd default NAME_REGEX, with its 32-character limit.
    [GeneratedRegex("^[a-z_][a-z0-9_-]{0,30}\\$?\\z", RegexOptions.CultureInvariant)]
    private static partial Regex GroupNamePattern();
}
