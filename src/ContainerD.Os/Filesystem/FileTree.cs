using Microsoft.Win32.SafeHandles;
using static ContainerD.Os.Filesystem.Native;

namespace ContainerD.Os.Filesystem;

/// <summary>
/// Deletes a tree by file descriptor: openat/unlinkat relative to the directory being emptied,
/// never a path string, so any bytes in a name and any depth are fine (a container can make
/// both); symlinks are removed, never followed; a mount point inside is an error, never crossed.
/// One directory is open at a time: it climbs back through ".." and checks that it came back to
/// the directory it left.
/// </summary>
public static class FileTree
{
    private const ulong Resolve = ResolveBeneath | ResolveNoSymlinks | ResolveNoMagiclinks | ResolveNoXdev;

    /// <summary>Deletes path and everything below it; nothing when it does not exist. path's parent is trusted (the daemon's own).</summary>
    public static void Delete(string path)
    {
        string full = Path.GetFullPath(path).TrimEnd('/');
        string parentPath = Path.GetDirectoryName(full) ?? throw new IOException("refusing to delete /");
        int fd = TryOpenat(null, Z(parentPath), ORdonly | ODirectory, 0, out int errno);
        if (fd < 0)
        {
            if (errno == ENOENT)
            {
                return;
            }
            throw new IOException(Error(errno, "cannot open", parentPath).Message);
        }
        using var parent = new SafeFileHandle(fd, ownsHandle: true);
        DeleteAt(parent, Z(Path.GetFileName(full)), full);
    }

    private static void DeleteAt(SafeFileHandle top, byte[] name, string path)
    {
        if (RemoveEntry(top, name, path) is null)
        {
            return;
        }
        // A non-empty directory: go down into the first non-empty subdirectory until there is none,
        // then up again, removing the emptied one. The stack holds where each level came from.
        var stack = new Stack<((uint, uint, ulong, ulong) Parent, byte[] Name)>();
        var current = OpenChild(top, name, path);
        stack.Push((Stat(top).Identity, name));
        try
        {
            while (true)
            {
                if (EmptyOut(current, path, stack.Count) is { } child)
                {
                    var next = OpenChild(current, child, path);
                    stack.Push((Stat(current).Identity, child));
                    current.Dispose();
                    current = next;
                    continue;
                }
                var (parentIdentity, emptied) = stack.Pop();
                if (stack.Count == 0)
                {
                    int error = TryUnlinkat(top, name, AtRemovedir);
                    if (error is not (0 or ENOENT))
                    {
                        throw new IOException(Error(error, "cannot remove", path).Message);
                    }
                    return;
                }
                var up = Openat(current, Z(".."), ORdonly | ODirectory | ONofollow);
                if (Stat(up).Identity != parentIdentity)
                {
                    up.Dispose();
                    throw new IOException($"cannot delete {path}: a directory in it moved while it was being deleted");
                }
                current.Dispose();
                current = up;
                // Not empty after all (something was added meanwhile): EmptyOut finds it again.
                int removed = TryUnlinkat(current, emptied, AtRemovedir);
                if (removed is not (0 or ENOENT or ENOTEMPTY or EEXIST))
                {
                    throw new IOException(Error(removed, "cannot remove a directory in", path).Message);
                }
            }
        }
        finally
        {
            current.Dispose();
        }
    }

    /// <summary>Removes what dir holds, except non-empty subdirectories: returns the first of those, or null when dir is empty.</summary>
    private static byte[]? EmptyOut(SafeFileHandle dir, string path, int depth)
    {
        foreach (byte[] name in Entries(dir))
        {
            if (RemoveEntry(dir, name, $"{path} (at depth {depth})") is { } nonEmpty)
            {
                return nonEmpty;
            }
        }
        return null;
    }

    /// <summary>Unlinks a file, symlink or empty directory; returns the name back when it is a directory with something in it.</summary>
    private static byte[]? RemoveEntry(SafeFileHandle dir, byte[] name, string where)
    {
        int error = TryUnlinkat(dir, name, 0);
        if (error is 0 or ENOENT)
        {
            return null;
        }
        if (error != EISDIR)
        {
            throw new IOException(Error(error, $"cannot delete '{Printable(name)}' in", where).Message);
        }
        error = TryUnlinkat(dir, name, AtRemovedir);
        return error switch
        {
            0 or ENOENT => null,
            ENOTEMPTY or EEXIST => name,
            _ => throw new IOException(Error(error, $"cannot remove directory '{Printable(name)}' in", where).Message),
        };
    }

    private static SafeFileHandle OpenChild(SafeFileHandle dir, byte[] name, string path)
    {
        int fd = TryOpenat2(dir, name, ORdonly | ODirectory | ONofollow, Resolve, out int errno);
        return fd >= 0 ? new SafeFileHandle(fd, ownsHandle: true)
            : errno == EXDEV ? throw new IOException($"cannot delete {path}: '{Printable(name)}' in it is a mount point; unmount it first")
            : throw new IOException(Error(errno, $"cannot open '{Printable(name)}' in", path).Message);
    }
}
