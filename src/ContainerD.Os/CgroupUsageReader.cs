using ContainerD.Domain.Lxc;

namespace ContainerD.Os;

/// <summary>
/// Reads a running container's figures from its cgroup: the init's /proc/PID/cgroup names the path
/// (parsed as text, once per pid), each figure comes from the hierarchy that has its controller.
/// Only files directly under a cgroupfs mount are read; nothing the container controls is followed.
/// </summary>
public static class CgroupUsageReader
{
    /// <summary>The cgroup hierarchies' mounts, as Read needs them (they do not move while the daemon runs: read them once).</summary>
    public static CgroupMounts ReadMounts(string root = "/") =>
        CgroupText.ParseMounts(KernelFile.Read(Path.Combine(root, "proc/self/mounts")) ?? "");

    public static ContainerUsage Read(int pid, HostFeatures host, string root = "/")
    {
        using var files = new UsageFiles(pid);
        return Read(files, null, host, ReadMounts(root), root);
    }

    /// <summary>
    /// The figures of the cgroup files.Pid's /proc/PID/cgroup names (read once; container: LXC's
    /// cgroup for it, wherever below it the pid went), through files, which keeps them open.
    /// </summary>
    public static ContainerUsage Read(UsageFiles files, string? container, HostFeatures host, CgroupMounts mounts, string root = "/")
    {
        var paths = files.CgroupPaths ?? CgroupText.ParseProcCgroup(
            KernelFile.Read(Path.Combine(root, "proc", files.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture), "cgroup")) ?? "", container);
        if (paths.Count > 0)
        {
            files.CgroupPaths = paths; // a pid that is gone names none: asked again next time
        }
        T? Read<T>(string dir, string file, Func<string, T?> parse) where T : struct =>
            files.Read(Path.Combine(dir, file)) is { } text ? parse(text) : null;

        // The directory of the container's cgroup in the hierarchy holding controller, v2 first.
        (string Dir, bool V2)? Dir(string v2Controller, string v1Controller)
        {
            if (host.CgroupV2Controllers.Contains(v2Controller) && mounts.V2 is { } v2 && paths.TryGetValue("", out var p2))
            {
                return (Under(root, v2, p2), true);
            }
            if (host.CgroupV1Controllers.Contains(v1Controller) && mounts.V1.TryGetValue(v1Controller, out var m1) && paths.TryGetValue(v1Controller, out var p1))
            {
                return (Under(root, m1, p1), false);
            }
            return null;
        }

        ulong? cpu = null, memory = null, memoryMax = null, memoryPeak = null, swap = null, swapMax = null, tasks = null, tasksMax = null;
        (ulong Read, ulong Write)? io = null;
        if (Dir("cpu", "cpuacct") is var (cpuDir, cpuV2))
        {
            cpu = cpuV2 ? Read(cpuDir, "cpu.stat", CgroupText.ParseCpuStatNSec) : Read(cpuDir, "cpuacct.usage", CgroupText.ParseCounter);
        }
        if (Dir("memory", "memory") is var (memDir, memV2))
        {
            memory = Read(memDir, memV2 ? "memory.current" : "memory.usage_in_bytes", CgroupText.ParseCounter);
            memoryMax = Read(memDir, memV2 ? "memory.max" : "memory.limit_in_bytes", CgroupText.ParseLimit);
            // memory.peak is Linux 5.19 and later: an older kernel leaves it out.
            memoryPeak = Read(memDir, memV2 ? "memory.peak" : "memory.max_usage_in_bytes", CgroupText.ParseCounter);
            if (memV2)
            {
                swap = Read(memDir, "memory.swap.current", CgroupText.ParseCounter);
                swapMax = Read(memDir, "memory.swap.max", CgroupText.ParseLimit);
            }
            else if (Read(memDir, "memory.memsw.usage_in_bytes", CgroupText.ParseCounter) is { } memsw && memory is { } m)
            {
                // v1 counts memory and swap together (only with swap accounting on); it has no swap limit of its own.
                swap = memsw > m ? memsw - m : 0;
            }
        }
        if (Dir("pids", "pids") is var (pidsDir, _))
        {
            tasks = Read(pidsDir, "pids.current", CgroupText.ParseCounter);
            tasksMax = Read(pidsDir, "pids.max", CgroupText.ParseLimit);
        }
        if (Dir("io", "blkio") is var (ioDir, ioV2))
        {
            // v1's plain counters leave out child cgroups (a systemd guest's services): the recursive ones do not.
            io = Read(ioDir, ioV2 ? "io.stat" : "blkio.throttle.io_service_bytes_recursive", text => (ValueTuple<ulong, ulong>?)CgroupText.ParseIoBytes(text));
        }
        return new ContainerUsage(cpu, memory, memoryMax, tasks, tasksMax)
        {
            MemoryPeak = memoryPeak,
            MemorySwapCurrent = swap,
            MemorySwapMax = swapMax,
            IOReadBytes = io?.Read,
            IOWriteBytes = io?.Write,
        };
    }

    private static string Under(string root, string mount, string relative) =>
        Path.Combine(root, mount.TrimStart('/'), relative);
}
