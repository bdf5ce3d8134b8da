using ContainerD.Domain.Lxc;
using Microsoft.Win32.SafeHandles;
using static ContainerD.Os.Filesystem.Native;

namespace ContainerD.Os;

/// <summary>
/// One running container's kernel files (its cgroup's counters, its veth's statistics), opened once
/// and read again and again at offset 0: cgroupfs, sysfs and procfs generate the text anew at each
/// read from the start. A scrape of a thousand containers then costs a pread per figure, not a path
/// walk, an open, a lock and a close. Made for one init pid: when the container stops (its cgroup
/// goes, and the reads fail) the daemon disposes it; the next start gets new files.
/// </summary>
public sealed class UsageFiles(int pid) : IDisposable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, SafeFileHandle?> _open = new(StringComparer.Ordinal);
    private bool _disposed;

    public int Pid { get; } = pid;

    /// <summary>The cgroup paths of its /proc/PID/cgroup, read the first time they are asked for.</summary>
    internal IReadOnlyDictionary<string, string>? CgroupPaths { get; set; }

    /// <summary>The file's text now, or null when it is not there or cannot be read (any more).</summary>
    public string? Read(string path)
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return null;
            }
            if (!_open.TryGetValue(path, out var handle))
            {
                // open(2) itself, not File.OpenHandle: no flock, no fstat, for a file only read.
                int fd = TryOpenat(null, Z(path), ORdonly, 0, out _);
                _open[path] = handle = fd >= 0 ? new SafeFileHandle(fd, ownsHandle: true) : null;
            }
            if (handle is null)
            {
                return null;
            }
            Span<byte> buffer = stackalloc byte[8192];
            int total = 0, read = 0;
            while (total < buffer.Length && (read = TryPread(handle, buffer[total..], total, out _)) > 0)
            {
                total += read;
            }
            if (read < 0)
            {
                return null; // the cgroup was removed (ENODEV): the container stopped
            }
            return total < buffer.Length ? System.Text.Encoding.UTF8.GetString(buffer[..total]) : KernelFile.Read(path);
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
            foreach (var handle in _open.Values)
            {
                handle?.Dispose();
            }
            _open.Clear();
        }
    }
}
