namespace ContainerD.Domain.Definitions;

/// <summary>
/// A container definition after validation: every value here is known to be good. Ephemeral: the
/// root is a fresh tmpfs at each start, its writes gone at stop. NixDaemon: the host's nix-daemon
/// socket and a GC-root directory of its own are bound in (nix: { daemon: true }).
/// </summary>
public sealed record ContainerDefinition(
    string Name,
    SystemSource System,
    bool Autostart,
    IdMapRequest IdMap,
    IReadOnlyList<BindMount> BindMounts,
    NetworkSettings Network,
    ResourceLimits Limits,
    TimeSpan StopTimeout,
    Activation Activation,
    bool Ephemeral = false,
    bool NixDaemon = false);

/// <summary>Where the container's system comes from: exactly one of a Nix expression, a flake or a store path.</summary>
public abstract record SystemSource;

/// <summary>nix-build FILE [-A Attr] [--argstr k v]…</summary>
public sealed record NixExpressionSystem(string File, string? Attr, IReadOnlyDictionary<string, string> Args) : SystemSource;

/// <summary>
/// nix build PATH#ATTRIBUTE with the flakes feature, as nixos-container create --flake does: "PATH#NAME"
/// builds nixosConfigurations.NAME.config.system.build.toplevel, a fragment with a dot is the attribute itself.
/// </summary>
public sealed record FlakeSystem(string Path, string Attribute) : SystemSource
{
    public string Reference => $"{Path}#{Attribute}";
}

/// <summary>A prebuilt system closure already in the store.</summary>
public sealed record StorePathSystem(string Path) : SystemSource;

/// <summary>The uid/gid range a container asks for; Base is null unless the definition fixes it.</summary>
public sealed record IdMapRequest(long Size, long? Base)
{
    public const long Granularity = 65536;
    public static IdMapRequest Default { get; } = new(Granularity, null);
}

public sealed record BindMount(string Host, string Container, bool ReadOnly, bool Create, bool Idmapped);

public enum NetworkMode { None, Veth }

public sealed record PortForward(int HostPort, int ContainerPort, string Protocol);

public sealed record NetworkSettings(
    NetworkMode Mode,
    string? Bridge,
    string? HostAddress,
    string? LocalAddress,
    string? HostAddress6,
    string? LocalAddress6,
    IReadOnlyList<PortForward> ForwardPorts)
{
    public static NetworkSettings None { get; } = new(NetworkMode.None, null, null, null, null, null, []);
}

/// <summary>Memory in bytes, CPUs as a fraction of cores, pids as a count; null = no limit.</summary>
public sealed record ResourceLimits(long? MemoryBytes, double? Cpus, long? Pids)
{
    public static ResourceLimits None { get; } = new(null, null, null);

    /// <summary>These limits, each one not set taken from the defaults.</summary>
    public ResourceLimits Over(ResourceLimits defaults) =>
        new(MemoryBytes ?? defaults.MemoryBytes, Cpus ?? defaults.Cpus, Pids ?? defaults.Pids);
}

/// <summary>How an update reaches a running container.</summary>
public enum Activation { Auto, Switch, Restart, None }
