using System.Globalization;

namespace ContainerD.Domain.Lxc;

/// <summary>
/// A running container's figures: from its cgroup, its host-side veth and its writable root. A
/// figure the host cannot give is null (an interface list: empty), never 0.
/// </summary>
public sealed record ContainerUsage(ulong? CpuUsageNSec, ulong? MemoryCurrent, ulong? MemoryMax, ulong? TasksCurrent, ulong? TasksMax)
{
    /// <summary>The most memory it has used since it started (v2 memory.peak, v1 max_usage_in_bytes).</summary>
    public ulong? MemoryPeak { get; init; }
    /// <summary>Swap in use, where the host accounts it (v2 memory.swap.current, v1 memsw − memory).</summary>
    public ulong? MemorySwapCurrent { get; init; }
    public ulong? MemorySwapMax { get; init; }
    /// <summary>Bytes read from and written to block devices (v2 io.stat, v1 blkio's recursive throttle counters).</summary>
    public ulong? IOReadBytes { get; init; }
    public ulong? IOWriteBytes { get; init; }
    /// <summary>Its interfaces' counters as the container sees them (received = what came in to it).</summary>
    public IReadOnlyList<InterfaceCounters> Interfaces { get; init; } = [];
    /// <summary>Bytes its writable root takes on the host's disk, as last measured (null until a first measurement).</summary>
    public ulong? RootDiskBytes { get; init; }
    public DateTimeOffset? RootDiskMeasuredAt { get; init; }
}

/// <summary>One interface's counters from the container's side.</summary>
public sealed record InterfaceCounters(string Name, ulong RxBytes, ulong RxPackets, ulong TxBytes, ulong TxPackets)
{
    /// <summary>
    /// The counters of a veth's host end, turned around: what the host end received is what the
    /// container sent, and what it sent the container received.
    /// </summary>
    public static InterfaceCounters FromHostEnd(string containerSideName, ulong hostRxBytes, ulong hostRxPackets, ulong hostTxBytes, ulong hostTxPackets) =>
        new(containerSideName, RxBytes: hostTxBytes, RxPackets: hostTxPackets, TxBytes: hostRxBytes, TxPackets: hostRxPackets);
}

/// <summary>Where each cgroup hierarchy is mounted: the unified one and each v1 controller's.</summary>
public sealed record CgroupMounts(string? V2, IReadOnlyDictionary<string, string> V1);

/// <summary>
/// Pure parsing of cgroupfs text: /proc/PID/cgroup, /proc/self/mounts and the counter files.
/// Nothing here follows a path; a cgroup path that is not a plain absolute path is refused.
/// </summary>
public static class CgroupText
{
    /// <summary>v1 at or above this (page-rounded LLONG_MAX) means no limit.</summary>
    private const ulong V1Unlimited = 1UL << 62;

    /// <summary>
    /// /proc/PID/cgroup: each v1 controller (and "" for the unified hierarchy) to its cgroup path.
    /// A path with "." or ".." segments, a NUL or not starting with "/" is left out. Given the
    /// container's name, a path through LXC's cgroup for it (lxc.payload.NAME) ends there: the
    /// container's root may move its init into a cgroup of its own below, and the figures are the
    /// whole container's all the same. Otherwise a trailing "init.scope" (systemd as the guest's init
    /// moves itself there) is taken off: the container's cgroup is its parent.
    /// </summary>
    public static IReadOnlyDictionary<string, string> ParseProcCgroup(string text, string? container = null)
    {
        var paths = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] fields = line.Split(':', 3);
            if (fields.Length != 3 || SafePath(fields[2], container) is not { } path)
            {
                continue;
            }
            if (fields[0] == "0" && fields[1].Length == 0)
            {
                paths[""] = path;
                continue;
            }
            foreach (string controller in fields[1].Split(',', StringSplitOptions.RemoveEmptyEntries))
            {
                if (!controller.StartsWith("name=", StringComparison.Ordinal))
                {
                    paths[controller] = path;
                }
            }
        }
        return paths;
    }

    /// <summary>LXC's cgroup for a container (lxc.cgroup.pattern's default, lxc.payload.%n).</summary>
    public static string PayloadCgroup(string container) => "lxc.payload." + container;

    /// <summary>A cgroup path as a relative path under its mount ("" for the root), or null when it is not plain.</summary>
    public static string? SafePath(string path, string? container = null)
    {
        if (path.Length == 0 || path[0] != '/' || path.Contains('\0', StringComparison.Ordinal))
        {
            return null;
        }
        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries).ToList();
        if (segments.Any(s => s is "." or ".."))
        {
            return null;
        }
        int payload = container is null ? -1 : segments.IndexOf(PayloadCgroup(container));
        if (payload >= 0)
        {
            segments.RemoveRange(payload + 1, segments.Count - payload - 1);
        }
        else if (segments.Count > 0 && segments[^1] == "init.scope")
        {
            segments.RemoveAt(segments.Count - 1);
        }
        return string.Join('/', segments);
    }

    /// <summary>/proc/self/mounts: the cgroup2 mount and, for each v1 controller, its hierarchy's mount.</summary>
    public static CgroupMounts ParseMounts(string text)
    {
        string? v2 = null;
        var v1 = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] f = line.Split(' ');
            if (f.Length < 4)
            {
                continue;
            }
            string mountPoint = Unescape(f[1]);
            if (f[2] == "cgroup2")
            {
                v2 ??= mountPoint;
            }
            else if (f[2] == "cgroup")
            {
                foreach (string option in f[3].Split(','))
                {
                    if (option is "memory" or "pids" or "cpu" or "cpuacct" or "cpuset" or "blkio" or "devices" or "freezer" or "hugetlb")
                    {
                        v1.TryAdd(option, mountPoint);
                    }
                }
            }
        }
        return new CgroupMounts(v2, v1);
    }

    /// <summary>A counter file (memory.current, pids.current, cpuacct.usage…): one unsigned number.</summary>
    public static ulong? ParseCounter(string text) =>
        ulong.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out ulong value) ? value : null;

    /// <summary>A limit file: "max" (v2, pids) or v1's near-2^63 figure means none (null).</summary>
    public static ulong? ParseLimit(string text) =>
        text.Trim() == "max" ? null : ParseCounter(text) is { } value && value < V1Unlimited ? value : null;

    /// <summary>v2 cpu.stat: usage_usec, in nanoseconds.</summary>
    public static ulong? ParseCpuStatNSec(string text)
    {
        foreach (string line in text.Split('\n'))
        {
            string[] f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length == 2 && f[0] == "usage_usec" && ParseCounter(f[1]) is { } usec)
            {
                return usec * 1000;
            }
        }
        return null;
    }

    /// <summary>
    /// Bytes read and written, summed over devices: v2 io.stat ("8:0 rbytes=N wbytes=N …") or v1
    /// blkio.throttle.io_service_bytes_recursive ("8:0 Read N" … "Total N"). A cgroup that has done
    /// no I/O yet has an empty io.stat or only v1's "Total 0": (0, 0).
    /// </summary>
    public static (ulong Read, ulong Write) ParseIoBytes(string text)
    {
        ulong read = 0, write = 0;
        foreach (string line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length == 0 || !f[0].Contains(':', StringComparison.Ordinal))
            {
                continue; // v1's "Total N" (read and written together)
            }
            if (f.Length == 3 && ParseCounter(f[2]) is { } bytes)
            {
                // v1: one line per device and direction.
                read += f[1] == "Read" ? bytes : 0;
                write += f[1] == "Write" ? bytes : 0;
                continue;
            }
            foreach (string field in f.Skip(1))
            {
                // v2: key=value pairs after the device.
                read += field.StartsWith("rbytes=", StringComparison.Ordinal) && ParseCounter(field[7..]) is { } r ? r : 0;
                write += field.StartsWith("wbytes=", StringComparison.Ordinal) && ParseCounter(field[7..]) is { } w ? w : 0;
            }
        }
        return (read, write);
    }

    /// <summary>Octal escapes of /proc/self/mounts (\040 for a space).</summary>
    private static string Unescape(string field)
    {
        if (!field.Contains('\\', StringComparison.Ordinal))
        {
            return field;
        }
        var sb = new System.Text.StringBuilder();
        for (int i = 0; i < field.Length; i++)
        {
            if (field[i] == '\\' && IsOctal(field, i + 1))
            {
                sb.Append((char)Convert.ToInt32(field.Substring(i + 1, 3), 8));
                i += 3;
            }
            else
            {
                sb.Append(field[i]);
            }
        }
        return sb.ToString();
    }

    private static bool IsOctal(string s, int at) =>
        at + 3 <= s.Length && s[at] is >= '0' and <= '7' && s[at + 1] is >= '0' and <= '7' && s[at + 2] is >= '0' and <= '7';
}
