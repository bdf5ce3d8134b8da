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
    private static readonly string[] Skeleton =
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

    private static void CreateOwned(string path, long ownerId, UnixFileMode mode)
    {
        Directory.CreateDirectory(path);
        // chmod after mkdir: the umask must not narrow the mode (sticky /tmp in particular).
        File.SetUnixFileMode(path, mode);
        Chown(path, ownerId);
    }

    public static void Chown(string path, long ownerId)
    {
        if (Syscall.lchown(path, checked((int)ownerId), checked((int)ownerId)) != 0)
        {
            throw new IOException($"cannot give {path} to uid {ownerId}: {Stdlib.GetLastError()}");
        }
    }
}
