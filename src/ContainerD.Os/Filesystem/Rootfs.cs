using Mono.Unix.Native;

namespace ContainerD.Os.Filesystem;

/// <summary>
/// The container's own writable root: nearly empty, since its OS comes from the bind-mounted store.
/// Everything in it belongs to the container's root (the range base), never to host root.
/// </summary>
public static class Rootfs
{
    private const UnixFileMode Dir755 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    /// <summary>Mount points and the directories a system expects to be able to write.</summary>
    internal static readonly string[] Skeleton =
        ["nix", "nix/store", "nix/var", "nix/var/nix", "nix/var/nix/profiles", "proc", "sys", "dev", "etc", "var", "run", "root", "home", "tmp"];

    public static void Create(string rootfs, long ownerId)
    {
        CreateOwned(rootfs, ownerId, Dir755);
        foreach (string dir in Skeleton)
        {
            var mode = dir == "tmp" ? Dir755 | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite | UnixFileMode.StickyBit : Dir755;
            CreateOwned(Path.Combine(rootfs, dir), ownerId, mode);
        }
    }

    /// <summary>
    /// The state dir around the rootfs: root's, group the container's root, 0710. LXC enters the
    /// rootfs as the container's root, which gets through by its group; every other host user is
    /// stopped here, so no one reads the container's files (its /, /root included, stays 0755 inside).
    /// </summary>
    public static void Enclose(string stateDir, long containerRoot)
    {
        if (Syscall.lchown(stateDir, 0, checked((int)containerRoot)) != 0)
        {
            throw new IOException($"cannot give {stateDir} to group {containerRoot}: {Stdlib.GetLastError()}");
        }
        File.SetUnixFileMode(stateDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupExecute);
    }

    private static void CreateOwned(string path, long ownerId, UnixFileMode mode)
    {
        Directory.CreateDirectory(path);
        // chmod after mkdir: the umask must not narrow the mode (sticky /tmp in particular).
        File.SetUnixFileMode(path, mode);
        Chown(path, ownerId);
    }

    /// <summary>Puts replacement where rootfs was and the old root where replacement was, in one step.</summary>
    public static void Exchange(string rootfs, string replacement) => Native.Exchange(rootfs, replacement);

    public static void Chown(string path, long ownerId)
    {
        if (Syscall.lchown(path, checked((int)ownerId), checked((int)ownerId)) != 0)
        {
            throw new IOException($"cannot give {path} to uid {ownerId}: {Stdlib.GetLastError()}");
        }
    }
}
