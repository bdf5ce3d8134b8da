using ContainerD.Domain.Lxc;

namespace ContainerD.Os;

/// <summary>Reads what this host can do: AppArmor, LXC's seccomp profile, cgroup controllers per hierarchy.</summary>
public static class HostProbe
{
    public static HostFeatures Detect(string root = "/") => new(
        // Idmapped bind mounts need Linux 5.12+ (and a filesystem that supports them; ext4, xfs, btrfs do).
        IdmappedMounts: Environment.OSVersion.Version >= new Version(5, 12),
        AppArmor: ReadTrimmed(Path.Combine(root, "sys/module/apparmor/parameters/enabled")) == "Y"
            && Directory.Exists(Path.Combine(root, "sys/kernel/security/apparmor")),
        SeccompProfile: File.Exists(Path.Combine(root, "usr/share/lxc/config/common.seccomp")) ? "/usr/share/lxc/config/common.seccomp" : null,
        CgroupV2Controllers: V2Controllers(root),
        CgroupV1Controllers: V1Controllers(root));

    /// <summary>cgroup.controllers of the unified hierarchy, wherever it is mounted (/sys/fs/cgroup or …/unified).</summary>
    private static HashSet<string> V2Controllers(string root)
    {
        foreach (string dir in new[] { "sys/fs/cgroup", "sys/fs/cgroup/unified" })
        {
            string file = Path.Combine(root, dir, "cgroup.controllers");
            if (File.Exists(file))
            {
                return ReadTrimmed(file)!.Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet();
            }
        }
        return [];
    }

    /// <summary>v1 controllers mounted as cgroup hierarchies, from /proc/self/mounts (type "cgroup", options name them).</summary>
    private static HashSet<string> V1Controllers(string root)
    {
        string mounts = Path.Combine(root, "proc/self/mounts");
        if (!File.Exists(mounts))
        {
            return [];
        }
        var known = new HashSet<string> { "memory", "pids", "cpu", "cpuacct", "cpuset", "blkio", "devices", "freezer", "net_cls", "perf_event", "hugetlb", "rdma", "misc" };
        return File.ReadLines(mounts)
            .Select(line => line.Split(' '))
            .Where(f => f.Length > 3 && f[2] == "cgroup")
            .SelectMany(f => f[3].Split(','))
            .Where(known.Contains)
            .ToHashSet();
    }

    private static string? ReadTrimmed(string file) => File.Exists(file) ? File.ReadAllText(file).Trim() : null;
}
