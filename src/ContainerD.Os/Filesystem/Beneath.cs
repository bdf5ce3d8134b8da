using Microsoft.Win32.SafeHandles;
using static ContainerD.Os.Filesystem.Native;

namespace ContainerD.Os.Filesystem;

/// <summary>
/// Opening and making paths one component at a time from a directory fd, never following a
/// symlink and never leaving that directory: what the daemon uses inside a rootfs (which the
/// container's root owns and may have filled with symlinks) and for sources it creates.
/// </summary>
internal static class Beneath
{
    public const int Dir755 = 0b111_101_101;
    private const ulong Resolve = ResolveBeneath | ResolveNoSymlinks | ResolveNoMagiclinks;
    private static int DirectoryFlags => ORdonly | ODirectory | ONofollow;

    /// <summary>
    /// Opens start/relative as a directory. With create, a missing component is made 0755 (set
    /// explicitly: the umask plays no part), owned by owner (the last one by leafOwner); null = root.
    /// </summary>
    public static SafeFileHandle OpenDirectory(SafeFileHandle start, string relative, bool create, long? owner, long? leafOwner, string what)
    {
        string[] parts = relative.Split('/', StringSplitOptions.RemoveEmptyEntries);
        SafeFileHandle current = Openat(start, Z("."), DirectoryFlags);
        for (int i = 0; i < parts.Length; i++)
        {
            using var parent = current;
            current = OpenOrMake(parent, parts[i], create, i == parts.Length - 1 ? leafOwner : owner, what);
        }
        return current;
    }

    /// <summary>Opens dir/name as a regular file (O_PATH) for a file bind mount, making it empty (0644, owner) when missing.</summary>
    public static SafeFileHandle OpenFile(SafeFileHandle dir, string name, long? owner, string what)
    {
        byte[] z = Z(name);
        int fd = TryOpenat2(dir, z, OPath | ONofollow, Resolve, out int errno);
        if (fd >= 0)
        {
            var handle = new SafeFileHandle(fd, ownsHandle: true);
            if (!Stat(handle).IsRegularFile)
            {
                handle.Dispose();
                throw new IOException($"{what} is not a regular file");
            }
            return handle;
        }
        if (errno != ENOENT)
        {
            throw Refusal(errno, what);
        }
        var made = Openat(dir, z, OWronly | OCreat | OExcl | ONofollow, 0b110_000_000);
        SetModeAndOwner(made, 0b110_100_100, owner, what);
        return made;
    }

    private static SafeFileHandle OpenOrMake(SafeFileHandle dir, string name, bool create, long? owner, string what)
    {
        byte[] z = Z(name);
        for (int attempt = 0; ; attempt++)
        {
            int fd = TryOpenat2(dir, z, DirectoryFlags, Resolve, out int errno);
            if (fd >= 0)
            {
                return new SafeFileHandle(fd, ownsHandle: true);
            }
            if (errno != ENOENT || !create || attempt > 1)
            {
                throw Refusal(StatAt(dir, z) is { IsSymlink: true } ? ELOOP : errno, $"{what} ('{name}')");
            }
            // Made 0700, then given its mode and owner on the descriptor: nobody sees it half-made.
            int made = TryMkdirat(dir, z, 0b111_000_000);
            if (made == 0)
            {
                var handle = Openat(dir, z, DirectoryFlags);
                SetModeAndOwner(handle, Dir755, owner, $"{what} ('{name}')");
                return handle;
            }
            if (made != EEXIST)
            {
                throw Refusal(made, $"{what} ('{name}')");
            }
        }
    }

    private static IOException Refusal(int errno, string what) => errno switch
    {
        ELOOP => new IOException($"{what} is a symbolic link: refusing to follow it"),
        ENOTDIR => new IOException($"{what} is not a directory"),
        EXDEV => new IOException($"{what} leaves the directory it must stay in"),
        _ => new IOException(Error(errno, "cannot open", what).Message),
    };
}
