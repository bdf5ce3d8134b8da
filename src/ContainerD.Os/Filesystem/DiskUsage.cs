using Microsoft.Win32.SafeHandles;
using static ContainerD.Os.Filesystem.Native;

namespace ContainerD.Os.Filesystem;

/// <summary>
/// What a directory tree takes on disk, as `du -s -x` counts it: allocated blocks of every inode
/// once (hard links counted once), symlinks not followed, mounts not crossed. A container owns the
/// tree it walks (its rootfs), so it goes by file descriptor as FileTree does: each directory is
/// opened below the one before it without following a symlink or leaving the mount, one at a time,
/// and climbing back through ".." must land on the directory it came from — a tree that is moved
/// about during the walk ends it with an IOException rather than a figure from somewhere else.
/// </summary>
public static class DiskUsage
{
    private const ulong Resolve = ResolveBeneath | ResolveNoSymlinks | ResolveNoMagiclinks | ResolveNoXdev;

    /// <summary>Bytes allocated below path (path included); path's own parents are trusted (the daemon's).</summary>
    public static ulong Measure(string path, CancellationToken cancellationToken = default)
    {
        int fd = TryOpenat(null, Z(path), ORdonly | ODirectory | ONofollow, 0, out int errno);
        if (fd < 0)
        {
            throw new IOException(Error(errno, "cannot open", path).Message);
        }
        var current = new SafeFileHandle(fd, ownsHandle: true);
        try
        {
            var top = Stat(current);
            var walk = new Walk(top.MountId) { Bytes = top.Blocks * 512 };
            var stack = new Stack<((uint, uint, ulong, ulong) Identity, List<byte[]> Subdirectories)>();
            stack.Push((top.Identity, walk.List(current)));
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var (identity, subdirectories) = stack.Peek();
                if (subdirectories.Count > 0)
                {
                    byte[] name = subdirectories[^1];
                    subdirectories.RemoveAt(subdirectories.Count - 1);
                    // Gone, turned into a symlink or a file, or a mount point since it was listed: not counted.
                    int child = TryOpenat2(current, name, ORdonly | ODirectory | ONofollow, Resolve, out _);
                    if (child < 0)
                    {
                        continue;
                    }
                    current.Dispose();
                    current = new SafeFileHandle(child, ownsHandle: true);
                    stack.Push((Stat(current).Identity, walk.List(current)));
                    continue;
                }
                stack.Pop();
                if (stack.Count == 0)
                {
                    return walk.Bytes;
                }
                var up = Openat(current, Z(".."), ORdonly | ODirectory | ONofollow);
                if (Stat(up).Identity != stack.Peek().Identity)
                {
                    up.Dispose();
                    throw new IOException($"cannot measure {path}: a directory in it moved during the walk");
                }
                current.Dispose();
                current = up;
            }
        }
        finally
        {
            current.Dispose();
        }
    }

    /// <summary>The running total, and the multiply linked inodes already counted.</summary>
    private sealed class Walk(ulong mountId)
    {
        private readonly HashSet<ulong> _linked = [];

        public ulong Bytes { get; set; }

        /// <summary>Adds what dir's entries take; returns its subdirectories (on the same filesystem).</summary>
        public List<byte[]> List(SafeFileHandle dir)
        {
            var subdirectories = new List<byte[]>();
            foreach (byte[] name in Entries(dir))
            {
                // Gone since it was listed: nothing to count. Another mount (the store, a bind mount): not the root's.
                if (StatAt(dir, name) is not { } entry || entry.MountId != mountId)
                {
                    continue;
                }
                if (entry.Nlink > 1 && !entry.IsDirectory && !_linked.Add(entry.Ino))
                {
                    continue;
                }
                Bytes += entry.Blocks * 512;
                if (entry.IsDirectory)
                {
                    subdirectories.Add(name);
                }
            }
            return subdirectories;
        }
    }
}
