using System.ComponentModel;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace ContainerD.Os.Filesystem;

/// <summary>
/// The Linux calls that work on file descriptors rather than paths: openat2, the new mount API
/// (open_tree, mount_setattr, move_mount), *at calls, getdents64, statx. Names are byte strings,
/// so any bytes a container put in a file name go through as they are.
/// </summary>
internal static unsafe partial class Native
{
    public const int AtFdcwd = -100;
    public const int AtSymlinkNofollow = 0x100, AtRemovedir = 0x200, AtEmptyPath = 0x1000;
    public const int ORdonly = 0, OWronly = 1, OCreat = 0x40, OExcl = 0x80, OCloexec = 0x80000, OPath = 0x200000;
    // arm64 numbers these two differently from x86-64.
    public static readonly int ODirectory = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? 0x4000 : 0x10000;
    public static readonly int ONofollow = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? 0x8000 : 0x20000;

    public const ulong ResolveNoXdev = 0x01, ResolveNoMagiclinks = 0x02, ResolveNoSymlinks = 0x04, ResolveBeneath = 0x08;
    public const int OpenTreeClone = 1;
    public const int MoveMountFEmptyPath = 0x4, MoveMountTEmptyPath = 0x40;
    public const ulong MountAttrRdonly = 0x1, MountAttrNodev = 0x4, MountAttrIdmap = 0x100000;
    public const ulong MsPrivate = 1 << 18;
    public const int MntDetach = 2;

    public const int ENOENT = 2, EEXIST = 17, EXDEV = 18, ENOTDIR = 20, EISDIR = 21, ELOOP = 40, ENOTEMPTY = 39, EINVAL = 22;

    // The syscalls glibc 2.36 has no wrapper for (openat2) or only newer ones (the mount API); their
    // numbers are the same on every architecture (≥ 424 are shared).
    private const long SysOpenTree = 428, SysMoveMount = 429, SysFsopen = 430, SysFsconfig = 431, SysFsmount = 432, SysOpenat2 = 437, SysMountSetattr = 442;
    private const int FsopenCloexec = 1, FsmountCloexec = 1, FsconfigSetString = 1, FsconfigCmdCreate = 6;

    [StructLayout(LayoutKind.Sequential)]
    private struct OpenHow
    {
        public ulong Flags, Mode, Resolve;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct MountAttr
    {
        public ulong Set, Clear, Propagation, UsernsFd;
    }

    /// <summary>The parts of struct statx used here (the kernel's layout, the same on every architecture).</summary>
    [StructLayout(LayoutKind.Explicit, Size = 256)]
    public struct Statx
    {
        [FieldOffset(16)] public uint Nlink;
        [FieldOffset(20)] public uint Uid;
        [FieldOffset(28)] public ushort Mode;
        [FieldOffset(32)] public ulong Ino;
        /// <summary>512-byte blocks allocated on disk (what du counts).</summary>
        [FieldOffset(48)] public ulong Blocks;
        [FieldOffset(136)] public uint DevMajor;
        [FieldOffset(140)] public uint DevMinor;
        [FieldOffset(144)] public ulong MountId;

        public readonly bool IsDirectory => (Mode & 0xF000) == 0x4000;
        public readonly bool IsSymlink => (Mode & 0xF000) == 0xA000;
        public readonly bool IsRegularFile => (Mode & 0xF000) == 0x8000;
        public readonly (uint, uint, ulong, ulong) Identity => (DevMajor, DevMinor, Ino, MountId);
    }

    private const uint StatxBasicStats = 0x7ff, StatxMountId = 0x1000;

    /// <summary>A NUL-terminated copy of a name or path.</summary>
    public static byte[] Z(string s) => Z(Encoding.UTF8.GetBytes(s));

    public static byte[] Z(ReadOnlySpan<byte> s)
    {
        var z = new byte[s.Length + 1];
        s.CopyTo(z);
        return z;
    }

    /// <summary>openat2 of one path below dir (resolve: RESOLVE_* flags); -1 and errno on failure.</summary>
    public static int TryOpenat2(SafeFileHandle? dir, byte[] path, int flags, ulong resolve, out int errno)
    {
        var how = new OpenHow { Flags = (ulong)(uint)(flags | OCloexec), Resolve = resolve };
        long fd;
        fixed (byte* p = path)
        {
            fd = syscall(SysOpenat2, dir is null ? AtFdcwd : Fd(dir), (long)p, (long)&how, sizeof(OpenHow), 0);
        }
        errno = fd < 0 ? Marshal.GetLastPInvokeError() : 0;
        return (int)fd;
    }

    public static SafeFileHandle Openat(SafeFileHandle? dir, byte[] path, int flags, int mode = 0)
    {
        int fd = TryOpenat(dir, path, flags, mode, out int errno);
        return fd >= 0 ? new SafeFileHandle(fd, ownsHandle: true) : throw Error(errno, "openat", path);
    }

    public static int TryOpenat(SafeFileHandle? dir, byte[] path, int flags, int mode, out int errno)
    {
        int fd;
        fixed (byte* p = path)
        {
            fd = openat(dir is null ? AtFdcwd : Fd(dir), p, flags | OCloexec, mode);
        }
        errno = fd < 0 ? Marshal.GetLastPInvokeError() : 0;
        return fd;
    }

    /// <summary>A detached copy of the mount at path (relative to dir; "" with AT_EMPTY_PATH for dir itself).</summary>
    public static SafeFileHandle OpenTree(SafeFileHandle? dir, byte[] path, int flags)
    {
        long fd;
        fixed (byte* p = path)
        {
            fd = syscall(SysOpenTree, dir is null ? AtFdcwd : Fd(dir), (long)p, (uint)(flags | OpenTreeClone | OCloexec), 0, 0);
        }
        return fd >= 0 ? new SafeFileHandle((IntPtr)fd, ownsHandle: true) : throw Error(Marshal.GetLastPInvokeError(), "open_tree", path);
    }

    /// <summary>A new, detached filesystem of that type (fsopen, fsconfig, fsmount) with the given string options and mount attributes.</summary>
    public static SafeFileHandle NewMount(string type, IReadOnlyList<(string Key, string Value)> options, ulong attributes)
    {
        long fs;
        fixed (byte* t = Z(type))
        {
            fs = syscall(SysFsopen, (long)t, FsopenCloexec, 0, 0, 0);
        }
        if (fs < 0)
        {
            throw Error(Marshal.GetLastPInvokeError(), "fsopen", type);
        }
        using var context = new SafeFileHandle((IntPtr)fs, ownsHandle: true);
        foreach (var (key, value) in options)
        {
            fixed (byte* k = Z(key), v = Z(value))
            {
                if (syscall(SysFsconfig, fs, FsconfigSetString, (long)k, (long)v, 0) < 0)
                {
                    throw Error(Marshal.GetLastPInvokeError(), "fsconfig", $"{type} {key}={value}");
                }
            }
        }
        if (syscall(SysFsconfig, fs, FsconfigCmdCreate, 0, 0, 0) < 0)
        {
            throw Error(Marshal.GetLastPInvokeError(), "fsconfig create", type);
        }
        long mount = syscall(SysFsmount, fs, FsmountCloexec, (long)attributes, 0, 0);
        return mount >= 0 ? new SafeFileHandle((IntPtr)mount, ownsHandle: true) : throw Error(Marshal.GetLastPInvokeError(), "fsmount", type);
    }

    /// <summary>mount_setattr on a (detached) mount fd; the errno, or 0.</summary>
    public static int TryMountSetattr(SafeFileHandle tree, ulong set, ulong propagation, SafeFileHandle? userns)
    {
        var attr = new MountAttr { Set = set, Propagation = propagation, UsernsFd = userns is null ? 0 : (ulong)Fd(userns) };
        byte empty = 0;
        long result = syscall(SysMountSetattr, Fd(tree), (long)&empty, AtEmptyPath, (long)&attr, sizeof(MountAttr));
        return result < 0 ? Marshal.GetLastPInvokeError() : 0;
    }

    /// <summary>Attaches a detached mount onto what target refers to: descriptors at both ends, no path.</summary>
    public static void MoveMount(SafeFileHandle tree, SafeFileHandle target, string what)
    {
        byte empty = 0;
        if (syscall(SysMoveMount, Fd(tree), (long)&empty, Fd(target), (long)&empty, MoveMountFEmptyPath | MoveMountTEmptyPath) < 0)
        {
            throw Error(Marshal.GetLastPInvokeError(), "move_mount onto", what);
        }
    }

    public static Statx Stat(SafeFileHandle fd)
    {
        Statx buffer;
        byte empty = 0;
        if (statx(Fd(fd), &empty, AtEmptyPath | AtSymlinkNofollow, StatxBasicStats | StatxMountId, &buffer) != 0)
        {
            throw Error(Marshal.GetLastPInvokeError(), "statx", "");
        }
        return buffer;
    }

    /// <summary>statx of dir/name, not following a symlink; null when it cannot be read.</summary>
    public static Statx? StatAt(SafeFileHandle dir, byte[] name)
    {
        Statx buffer;
        fixed (byte* p = name)
        {
            return statx(Fd(dir), p, AtSymlinkNofollow, StatxBasicStats | StatxMountId, &buffer) == 0 ? buffer : null;
        }
    }

    public static int TryMkdirat(SafeFileHandle dir, byte[] name, int mode)
    {
        fixed (byte* p = name)
        {
            return mkdirat(Fd(dir), p, mode) == 0 ? 0 : Marshal.GetLastPInvokeError();
        }
    }

    public static int TryUnlinkat(SafeFileHandle dir, byte[] name, int flags)
    {
        fixed (byte* p = name)
        {
            return unlinkat(Fd(dir), p, flags) == 0 ? 0 : Marshal.GetLastPInvokeError();
        }
    }

    /// <summary>Mode and owner set explicitly on the descriptor: never through the umask, never by path.</summary>
    public static void SetModeAndOwner(SafeFileHandle fd, int mode, long? owner, string what)
    {
        if (fchmod(Fd(fd), mode) != 0)
        {
            throw Error(Marshal.GetLastPInvokeError(), "chmod", what);
        }
        if (owner is { } id && fchown(Fd(fd), checked((uint)id), checked((uint)id)) != 0)
        {
            throw Error(Marshal.GetLastPInvokeError(), "chown", what);
        }
    }

    /// <summary>Reads directory entries into buffer; the bytes read, 0 at the end.</summary>
    public static int Getdents(SafeFileHandle dir, byte[] buffer)
    {
        nint n;
        fixed (byte* p = buffer)
        {
            n = getdents64(Fd(dir), p, buffer.Length);
        }
        return n >= 0 ? (int)n : throw Error(Marshal.GetLastPInvokeError(), "getdents64", "");
    }

    /// <summary>The names in a directory (NUL-terminated, "." and ".." left out), read as the caller goes.</summary>
    public static IEnumerable<byte[]> Entries(SafeFileHandle dir)
    {
        var buffer = new byte[32 * 1024];
        int n;
        while ((n = Getdents(dir, buffer)) > 0)
        {
            for (int offset = 0; offset < n;)
            {
                // struct linux_dirent64: ino (8), off (8), reclen (2), type (1), name (NUL-terminated).
                int length = BitConverter.ToUInt16(buffer, offset + 16);
                var entry = buffer.AsSpan(offset + 19, length - 19);
                offset += length;
                var name = entry[..entry.IndexOf((byte)0)];
                if (!name.SequenceEqual("."u8) && !name.SequenceEqual(".."u8))
                {
                    yield return Z(name);
                }
            }
        }
    }

    /// <summary>pread: bytes read at offset, or -1 and errno.</summary>
    public static int TryPread(SafeFileHandle fd, Span<byte> buffer, long offset, out int errno)
    {
        nint n;
        fixed (byte* p = buffer)
        {
            n = pread(Fd(fd), p, buffer.Length, offset);
        }
        errno = n < 0 ? Marshal.GetLastPInvokeError() : 0;
        return (int)n;
    }

    /// <summary>Unmounts (lazily) the mount whose root fd refers to, by its /proc/self/fd path: no path a container controls.</summary>
    public static int TryUnmountDetach(SafeFileHandle fd)
    {
        fixed (byte* p = Z($"/proc/self/fd/{Fd(fd)}"))
        {
            return umount2(p, MntDetach) == 0 ? 0 : Marshal.GetLastPInvokeError();
        }
    }

    /// <summary>Where an fd is, as the kernel names it (the /proc/self/fd link): canonical, no symlinks.</summary>
    public static byte[] PathOf(SafeFileHandle fd)
    {
        var buffer = new byte[4096];
        nint n;
        fixed (byte* link = Z($"/proc/self/fd/{Fd(fd)}"), p = buffer)
        {
            n = readlink(link, p, buffer.Length);
        }
        return n >= 0 ? buffer[..(int)n] : throw Error(Marshal.GetLastPInvokeError(), "readlink of fd", "");
    }

    public static Win32Exception Error(int errno, string call, byte[] path) => Error(errno, call, Printable(path));

    public static Win32Exception Error(int errno, string call, string what) =>
        new(errno, $"{call} {what}: {Marshal.GetPInvokeErrorMessage(errno)}".Trim());

    /// <summary>A name for messages: UTF-8 as is, other bytes as \xNN.</summary>
    public static string Printable(ReadOnlySpan<byte> name)
    {
        int end = name.IndexOf((byte)0);
        name = end >= 0 ? name[..end] : name;
        var text = new StringBuilder();
        foreach (var rune in Encoding.UTF8.GetString(name).EnumerateRunes())
        {
            text.Append(rune == Rune.ReplacementChar || Rune.IsControl(rune) ? "\\x??" : rune.ToString());
        }
        return text.ToString();
    }

    private static int Fd(SafeFileHandle handle) => (int)handle.DangerousGetHandle();

    [LibraryImport("libc", SetLastError = true)]
    private static partial long syscall(long number, long a1, long a2, long a3, long a4, long a5);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int openat(int dirfd, byte* path, int flags, int mode);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int mkdirat(int dirfd, byte* path, int mode);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int unlinkat(int dirfd, byte* path, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fchmod(int fd, int mode);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fchown(int fd, uint owner, uint group);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint getdents64(int fd, byte* buffer, nint count);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int statx(int dirfd, byte* path, int flags, uint mask, Statx* buffer);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int umount2(byte* target, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint pread(int fd, byte* buffer, nint count, long offset);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint readlink(byte* path, byte* buffer, nint size);

    private const uint RenameExchange = 2;

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int renameat2(int olddirfd, string oldpath, int newdirfd, string newpath, uint flags);

    /// <summary>Swaps two paths in one step (renameat2 RENAME_EXCHANGE): at every instant each name is one of the two trees, whole.</summary>
    public static void Exchange(string a, string b)
    {
        if (renameat2(AtFdcwd, a, AtFdcwd, b, RenameExchange) != 0)
        {
            throw new IOException($"cannot exchange {a} and {b}: {new Win32Exception(Marshal.GetLastPInvokeError()).Message}");
        }
    }
}
