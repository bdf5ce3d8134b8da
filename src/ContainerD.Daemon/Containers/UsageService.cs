using ContainerD.Domain;
using ContainerD.Domain.Definitions;
using ContainerD.Domain.Lxc;
using ContainerD.Os;
using ContainerD.Os.Filesystem;
using ContainerD.Os.Net;

namespace ContainerD.Daemon.Containers;

/// <summary>
/// GetUsage: a running container's figures from its cgroup (CPU, memory, swap, tasks, I/O), its
/// veth's host end (traffic) and its writable root (disk, measured in the background by
/// RootDiskMonitor). Nothing here enters the container or follows a path it controls.
/// </summary>
public sealed class UsageService
{
    /// <summary>How long a call waits for a root's very first measurement before it answers without it.</summary>
    private static readonly TimeSpan FirstDiskWait = TimeSpan.FromMilliseconds(250);

    private readonly ContainerRegistry _registry;
    private readonly HostFeatures _host;
    private readonly ContainerPaths _paths;
    private readonly RootDiskMonitor _disk;
    // The hierarchies' mount points do not move while the daemon runs; read once, not per call.
    private readonly Lazy<CgroupMounts> _mounts = new(() => CgroupUsageReader.ReadMounts());

    public UsageService(ContainerRegistry registry, HostFeatures host, ContainerPaths paths, TimeProvider time)
    {
        (_registry, _host, _paths) = (registry, host, paths);
        _disk = new RootDiskMonitor(DiskUsage.Measure, time);
        registry.Removed += container => _disk.Forget(container.Name);
    }

    /// <summary>The figures while it runs; null when it is not running.</summary>
    public async Task<ContainerUsage?> GetUsageAsync(string name)
    {
        var container = _registry.Get(name);
        int pid = container.LeaderPid;
        if (container.RunState != ContainerState.Running || pid <= 0)
        {
            return null;
        }
        // Quick file reads, but a scrape sends one call per container at once: off the bus's read loop.
        await Task.Yield();
        var usage = CgroupUsageReader.Read(pid, _host, _mounts.Value);
        if (container.LeaderPid != pid)
        {
            return null; // it stopped while we read: the pid may be another process's by now
        }
        var definition = container.Definition;
        IReadOnlyList<InterfaceCounters> interfaces = definition.Network.Mode == NetworkMode.Veth
            && InterfaceStatistics.ReadHostEnd(LxcConfigRenderer.HostInterfaceName(name), LxcConfigRenderer.ContainerInterfaceName) is { } counters
            ? [counters] : [];
        // An ephemeral root is a tmpfs inside the container's namespace: its pages count in MemoryCurrent, not on disk.
        var disk = definition.Ephemeral ? default : await _disk.GetAsync(name, _paths.Rootfs(name), FirstDiskWait).ConfigureAwait(false);
        return usage with { Interfaces = interfaces, RootDiskBytes = disk.Bytes, RootDiskMeasuredAt = disk.MeasuredAt };
    }
}
