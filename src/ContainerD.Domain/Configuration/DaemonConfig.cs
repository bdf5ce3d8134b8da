using ContainerD.Domain.Definitions;
using ContainerD.Domain.IdMapping;

namespace ContainerD.Domain.Configuration;

/// <summary>
/// The daemon's settings (/etc/containerctld/config.yaml). Every key is optional; the defaults are
/// those of a real host. Tests point every path at a temp dir and the bus at a private address.
/// </summary>
public sealed record DaemonConfig
{
    /// <summary>"system", "session" or a D-Bus address such as unix:path=/run/x.</summary>
    public string Bus { get; init; } = "system";
    public string BusName { get; init; } = "io.containerctl.ContainerD1";
    public string StateDir { get; init; } = "/var/lib/containerctld";
    public string DefinitionsDir { get; init; } = "/etc/containerctld/containers";
    public string ProfilesDir { get; init; } = "/nix/var/nix/profiles/per-container";
    /// <summary>Where a container with nix.daemon keeps its GC roots (NAME below it; inside it is /nix/var/nix/gcroots/per-container/NAME). Under /nix/var/nix/gcroots, or the host's GC does not see them.</summary>
    public string GcRootsDir { get; init; } = "/nix/var/nix/gcroots/per-container";
    /// <summary>The LXC lxcpath; null means StateDir/lxc.</summary>
    public string? LxcPath { get; init; }
    /// <summary>Host ids handed out to containers; <see cref="DefaultIdPool"/> unless configured.</summary>
    public IdRange IdPool { get; init; } = DefaultIdPool;
    /// <summary>Add root's pool to /etc/subuid and /etc/subgid when missing.</summary>
    public bool ManageSubIds { get; init; } = true;
    /// <summary>Members of this group may change containers, besides root.</summary>
    public string AdminGroup { get; init; } = "containerctl";
    /// <summary>
    /// Limits for every container whose definition does not set them (each key on its own): a pids
    /// limit by default, systemd-nspawn@.service's TasksMax, so one container's fork bomb cannot
    /// take the host's pids. No memory or cpu default: what fits depends on the host and the workload.
    /// </summary>
    public ResourceLimits DefaultLimits { get; init; } = new(null, null, 16384);
    /// <summary>
    /// Where members of AdminGroup (not root) may take bind-mount sources from: only paths strictly
    /// under one of these, never idmapped. Root's definitions may bind any path.
    /// </summary>
    public PathList BindSourceRoots { get; init; } = new(["/srv/containers"]);
    /// <summary>Destroy declarative containers whose file left DefinitionsDir (else only warn).</summary>
    public bool PruneDeclarative { get; init; }
    /// <summary>Where a prebuilt system (system.path) the store lacks is fetched from, signature checked; none by default.</summary>
    public BinaryCaches BinaryCaches { get; init; } = BinaryCaches.None;

    /// <summary>
    /// The one place the default pool is defined: 2^30 (0x40000000) up to 0x6FFFFFFF, 12 288 ranges
    /// of 65536. It lies above the subordinate ids useradd hands out (Debian's login.defs:
    /// SUB_UID_MIN..SUB_UID_MAX = 100000..600100000) and above what NixOS gives normal users
    /// (100000 + 65536 per user: clear for the first 16 382 users), 65536-aligned, and below 2^31,
    /// ending where systemd's container range ends (0x00080000..0x6FFFFFFF, docs/UIDS-GIDS.md),
    /// clear of what systemd reserves above it. The old default (100000 + 1e9) covered useradd's
    /// whole range, so useradd failed once the daemon had added root's line.
    /// </summary>
    public static IdRange DefaultIdPool { get; } = new(0x4000_0000, 0x3000_0000);

    public string EffectiveLxcPath => LxcPath ?? System.IO.Path.Combine(StateDir, "lxc");
    public string ContainersDir => System.IO.Path.Combine(StateDir, "containers");
}

/// <summary>
/// Binary caches, as Nix names them: substituters (file:///srv/cache, https://cache.example.org) and
/// the public keys one of whose signatures a path from them must carry. Pull deployment: a
/// `system.path` the store lacks is realised from these, never with signature checks off.
/// </summary>
public sealed record BinaryCaches(IReadOnlyList<string> Substituters, IReadOnlyList<string> TrustedPublicKeys)
{
    public static BinaryCaches None { get; } = new([], []);

    public bool Any => Substituters.Count > 0;

    public bool Equals(BinaryCaches? other) => other is not null
        && Substituters.SequenceEqual(other.Substituters, StringComparer.Ordinal)
        && TrustedPublicKeys.SequenceEqual(other.TrustedPublicKeys, StringComparer.Ordinal);

    public override int GetHashCode() => Substituters.Count * 31 + TrustedPublicKeys.Count;

    public override string ToString() => $"substituters: {string.Join(' ', Substituters)}; trustedPublicKeys: {string.Join(' ', TrustedPublicKeys)}";
}

/// <summary>A list of paths compared by value, so configs compare as records do.</summary>
public sealed record PathList(IReadOnlyList<string> Paths)
{
    public bool Equals(PathList? other) => other is not null && Paths.SequenceEqual(other.Paths, StringComparer.Ordinal);
    public override int GetHashCode() => Paths.Count;
    public override string ToString() => string.Join(", ", Paths);
}
