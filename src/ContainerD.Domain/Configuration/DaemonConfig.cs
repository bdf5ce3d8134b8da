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
    /// <summary>The LXC lxcpath; null means StateDir/lxc.</summary>
    public string? LxcPath { get; init; }
    public string RuntimeDir { get; init; } = "/run/containerctld";
    public IdRange IdPool { get; init; } = new(100_000, 1_000_000_000);
    /// <summary>Add root's pool to /etc/subuid and /etc/subgid when missing.</summary>
    public bool ManageSubIds { get; init; } = true;
    /// <summary>Members of this group may change containers, besides root.</summary>
    public string AdminGroup { get; init; } = "containerctl";
    /// <summary>Destroy declarative containers whose file left DefinitionsDir (else only warn).</summary>
    public bool PruneDeclarative { get; init; }

    public string EffectiveLxcPath => LxcPath ?? System.IO.Path.Combine(StateDir, "lxc");
    public string ContainersDir => System.IO.Path.Combine(StateDir, "containers");
}
