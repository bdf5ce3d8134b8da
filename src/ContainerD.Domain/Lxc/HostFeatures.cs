namespace ContainerD.Domain.Lxc;

/// <summary>
/// What the host can do, detected once at start (ContainerD.Os.HostProbe) and handed to the pure
/// renderer. Cgroup controllers are split by hierarchy: a v1+v2 hybrid host has both.
/// </summary>
public sealed record HostFeatures(
    bool IdmappedMounts,
    bool AppArmor,
    string? SeccompProfile,
    IReadOnlySet<string> CgroupV2Controllers,
    IReadOnlySet<string> CgroupV1Controllers);
