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
    // A scrape asks for every container at once: its reads take all cores but one, never the one
    // that reads the bus, so a ListContainers beside a scrape of a thousand is answered at once.
    private readonly SemaphoreSlim _readers = new(Math.Max(1, Environment.ProcessorCount - 1));

    /// <summary>Each running container's kernel files, kept open from one call to the next (for its init's pid).</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, UsageFiles> _files = new(StringComparer.Ordinal);

    public UsageService(ContainerRegistry registry, HostFeatures host, ContainerPaths paths, TimeProvider time)
    {
        (_registry, _host, _paths) = (registry, host, paths);
        _disk = new RootDiskMonitor(DiskUsage.Measure, time);
        registry.Removed += container =>
        {
            _disk.Forget(container.Name);
            Close(container.Name);
        };
        // Stopped: its cgroup goes; a start makes a new one, with new files.
        registry.Changed += container =>
        {
            if (container.RunState != ContainerState.Running)
            {
                Close(container.Name);
            }
        };
    }

    private void Close(string name)
    {
        if (_files.TryRemove(name, out var files))
        {
            files.Dispose();
        }
    }

    /// <summary>
    /// The container's open files for this pid; those of an earlier pid are closed. (A set that a
    /// stop closes while a call reads it only makes that call's figures missing, and at most one
    /// set per container stays open: the next start or the removal closes it.)
    /// </summary>
    private UsageFiles FilesFor(string name, int pid)
    {
        while (true)
        {
            if (_files.TryGetValue(name, out var existing))
            {
                if (existing.Pid == pid)
                {
                    return existing;
                }
                var replacement = new UsageFiles(pid);
                if (_files.TryUpdate(name, replacement, existing))
                {
                    existing.Dispose();
                    return replacement;
                }
                replacement.Dispose();
                continue;
            }
            var created = new UsageFiles(pid);
            if (_files.TryAdd(name, created))
            {
                return created;
            }
            created.Dispose();
        }
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
        var definition = container.Definition;
        ContainerUsage usage;
        IReadOnlyList<InterfaceCounters> interfaces;
        await _readers.WaitAsync().ConfigureAwait(false);
        try
        {
            var files = FilesFor(name, pid);
            usage = CgroupUsageReader.Read(files, name, _host, _mounts.Value);
            interfaces = definition.Network.Mode == NetworkMode.Veth
                && InterfaceStatistics.ReadHostEnd(LxcConfigRenderer.HostInterfaceName(name), LxcConfigRenderer.ContainerInterfaceName, files) is { } counters
                ? [counters] : [];
        }
        finally
        {
            _readers.Release();
        }
        if (container.LeaderPid != pid)
        {
            return null; // it stopped while we read: the pid may be another process's by now
        }
        // An ephemeral root is a tmpfs inside the container's namespace: its pages count in MemoryCurrent, not on disk.
        var disk = definition.Ephemeral ? default : await _disk.GetAsync(name, _paths.Rootfs(name), FirstDiskWait).ConfigureAwait(false);
        return usage with { Interfaces = interfaces, RootDiskBytes = disk.Bytes, RootDiskMeasuredAt = disk.MeasuredAt };
    }
}
