using System.ComponentModel;
using ContainerD.Domain;
using ContainerD.Domain.IdMapping;
using ContainerD.Domain.Lxc;
using Microsoft.Win32.SafeHandles;
using Mono.Unix.Native;
using static ContainerD.Os.Filesystem.Native;

namespace ContainerD.Os.Filesystem;

/// <summary>
/// A container's store, profile and bind mounts, made on the host under its rootfs just before
/// lxc-start. The container's new mount namespace copies them into its less privileged user
/// namespace, and the kernel locks a copied mount's flags and keeps it from being unmounted to
/// show what is below: its root cannot make them writable (LXC's own lxc.mount.entry mounts are
/// made inside that namespace, and its root can). Each one is a detached copy (open_tree) given
/// its flags — read-only, nodev, idmapped through the container's range when asked — before it is
/// attached (move_mount) onto a target opened without following symlinks: nothing the container
/// planted in its rootfs can redirect it. The rootfs first becomes a private mount of its own, so
/// nothing below it propagates to the host's other namespaces. Once the container runs, the host's
/// copies go again (Unmount): the container's stay, in its namespace. An ephemeral container's root
/// is a fresh tmpfs mounted onto the rootfs instead of the self-bind, the skeleton made in it: once
/// the host's copy is gone, the container's namespace holds the only reference, and its writes go
/// with it at stop; the rootfs directory on disk is never written.
/// </summary>
public static class HostMounts
{
    /// <summary>Makes every mount of the plan below rootfs; false when the store could not be idmapped (it is then plain, read-only all the same).</summary>
    /// <param name="userns">
    /// Where an idmapped mount gets a user namespace with the container's mapping: the daemon's
    /// (IdmapNamespaces, kept across starts, not disposed here); when null, one is made for this
    /// call and dropped after it.
    /// </param>
    public static bool Mount(string rootfs, IReadOnlyList<HostMount> plan, IdRange ids, bool ephemeral = false, Func<SafeFileHandle>? userns = null)
    {
        bool idmapped = true;
        try
        {
            if (ephemeral)
            {
                MountEphemeralRoot(rootfs, ids);
            }
            else
            {
                MakePrivateMount(rootfs);
            }
            using var top = Openat(null, Z(rootfs), ORdonly | ODirectory | ONofollow);
            SafeFileHandle? own = null, mapping = null;
            try
            {
                foreach (var mount in plan)
                {
                    if (mount.Idmap != MountIdmap.None)
                    {
                        mapping ??= userns is not null ? userns() : own = UserNamespace.Open(ids);
                    }
                    idmapped &= Attach(top, mount, ids, mapping);
                }
            }
            finally
            {
                own?.Dispose();
            }
            return idmapped;
        }
        catch (Exception e) when (e is IOException or Win32Exception)
        {
            Unmount(rootfs);
            throw new ContainerDException(ErrorKind.StartFailed, $"cannot mount into {rootfs}: {e.Message}");
        }
        catch
        {
            Unmount(rootfs);
            throw;
        }
    }

    /// <summary>
    /// Detaches every mount at or below rootfs on the host (lazily: a busy one goes when it is let
    /// go), each through a descriptor opened without following symlinks. Returns how many.
    /// </summary>
    public static int Unmount(string rootfs)
    {
        byte[] canonical;
        int fd = TryOpenat(null, Z(rootfs), OPath | ODirectory | ONofollow, 0, out int errno);
        if (fd < 0)
        {
            return errno == ENOENT ? 0 : throw new IOException(Error(errno, "cannot open", rootfs).Message);
        }
        using (var handle = new SafeFileHandle(fd, ownsHandle: true))
        {
            canonical = PathOf(handle);
        }
        for (int count = 0; count < 1000; count++)
        {
            // The shallowest first: detaching it takes everything below it along.
            var point = MountInfo.MountPointsUnder(File.ReadAllBytes("/proc/self/mountinfo"), canonical).MinBy(p => p.Length);
            if (point is null)
            {
                return count;
            }
            using var at = OpenMountPoint(rootfs, canonical, point);
            int error = TryUnmountDetach(at);
            if (error != 0)
            {
                throw new IOException(Error(error, "cannot unmount", point).Message);
            }
        }
        throw new IOException($"mounts below {rootfs} keep coming back");
    }

    private static SafeFileHandle OpenMountPoint(string rootfs, byte[] canonical, byte[] point)
    {
        using var root = Openat(null, Z(rootfs), OPath | ODirectory | ONofollow);
        if (point.Length == canonical.Length)
        {
            return Openat(null, Z(rootfs), OPath | ONofollow);
        }
        int fd = TryOpenat2(root, Z(point.AsSpan(canonical.Length + 1)), OPath | ONofollow,
            ResolveBeneath | ResolveNoSymlinks | ResolveNoMagiclinks, out int errno);
        return fd >= 0 ? new SafeFileHandle(fd, ownsHandle: true) : throw new IOException(Error(errno, "cannot open mount point", point).Message);
    }

    /// <summary>The rootfs bound onto itself, private: what is mounted below it propagates nowhere.</summary>
    private static void MakePrivateMount(string rootfs)
    {
        using var below = Openat(null, Z(rootfs), ORdonly | ODirectory | ONofollow);
        using var self = OpenTree(below, Z(""), AtEmptyPath);
        Check(TryMountSetattr(self, 0, MsPrivate, null), "make private", rootfs);
        MoveMount(self, below, rootfs);
    }

    /// <summary>
    /// A fresh tmpfs onto rootfs, private, owned by the container's root, with the skeleton a fresh
    /// rootfs has. Its pages are charged to the cgroup of whoever writes them: limits.memory bounds it.
    /// </summary>
    private static void MountEphemeralRoot(string rootfs, IdRange ids)
    {
        string owner = ids.Start.ToString(System.Globalization.CultureInfo.InvariantCulture);
        using var below = Openat(null, Z(rootfs), ORdonly | ODirectory | ONofollow);
        using (var tmpfs = NewMount("tmpfs", [("source", "containerctld-ephemeral"), ("mode", "0755"), ("uid", owner), ("gid", owner)], MountAttrNodev))
        {
            Check(TryMountSetattr(tmpfs, MountAttrNodev, MsPrivate, null), "make private", rootfs);
            MoveMount(tmpfs, below, rootfs);
        }
        using var top = Openat(null, Z(rootfs), ORdonly | ODirectory | ONofollow);
        foreach (string dir in Rootfs.Skeleton)
        {
            using var made = Beneath.OpenDirectory(top, dir, create: true, ids.Start, ids.Start, $"{dir} in the ephemeral root");
            if (dir == "tmp")
            {
                SetModeAndOwner(made, 0b1_111_111_111, ids.Start, "/tmp in the ephemeral root");
            }
        }
    }

    /// <summary>One mount: a detached copy of its source, its flags set, attached onto its target. False when an idmap was preferred but impossible.</summary>
    private static bool Attach(SafeFileHandle top, HostMount mount, IdRange ids, SafeFileHandle? userns)
    {
        ulong flags = MountAttrNodev | (mount.ReadOnly ? MountAttrRdonly : 0);
        var tree = OpenSource(mount);
        try
        {
            bool idmapped = true;
            if (mount.Idmap != MountIdmap.None)
            {
                int error = TryMountSetattr(tree, flags | MountAttrIdmap, MsPrivate, userns);
                if (error != 0)
                {
                    if (mount.Idmap == MountIdmap.Required)
                    {
                        throw new ContainerDException(ErrorKind.StartFailed,
                            $"bind mount {mount.Source} asks for idmapped: true, but it cannot be idmapped here: {Error(error, "mount_setattr", mount.Source).Message}");
                    }
                    // Preferred (the store): a fresh copy, plain and read-only. Never a writable one.
                    idmapped = false;
                    tree.Dispose();
                    tree = OpenSource(mount);
                    Check(TryMountSetattr(tree, flags, MsPrivate, null), "mount_setattr", mount.Source);
                }
            }
            else
            {
                Check(TryMountSetattr(tree, flags, MsPrivate, null), "mount_setattr", mount.Source);
            }
            if (mount.ReadOnly && (Syscall.fstatvfs((int)tree.DangerousGetHandle(), out var vfs) != 0 || (vfs.f_flag & MountFlags.ST_RDONLY) == 0))
            {
                throw new IOException($"{mount.Source} is not read-only after mount_setattr: refusing to mount it");
            }
            bool isDirectory = Stat(tree).IsDirectory;
            string target = mount.Target.TrimStart('/');
            string what = $"{mount.Target} in the rootfs";
            using var at = isDirectory
                ? Beneath.OpenDirectory(top, target, create: true, ids.Start, ids.Start, what)
                : OpenFileTarget(top, target, ids.Start, what);
            MoveMount(tree, at, what);
            return idmapped;
        }
        finally
        {
            tree.Dispose();
        }
    }

    private static SafeFileHandle OpenFileTarget(SafeFileHandle top, string target, long owner, string what)
    {
        int slash = target.LastIndexOf('/');
        using var dir = Beneath.OpenDirectory(top, slash < 0 ? "" : target[..slash], create: true, owner, owner, what);
        return Beneath.OpenFile(dir, target[(slash + 1)..], owner, what);
    }

    /// <summary>
    /// A detached copy of the source. A source the daemon creates (create: true) is walked from /
    /// without following any symlink — a link planted in a world-writable parent cannot redirect it;
    /// other sources are as the definition names them.
    /// </summary>
    private static SafeFileHandle OpenSource(HostMount mount)
    {
        if (mount.CreateSource)
        {
            using var root = Openat(null, Z("/"), ORdonly | ODirectory);
            using var source = Beneath.OpenDirectory(root, mount.Source, create: true, owner: null, mount.SourceOwner, $"bind mount source {mount.Source}");
            return OpenTree(source, Z(""), AtEmptyPath);
        }
        try
        {
            return OpenTree(null, Z(mount.Source), 0);
        }
        catch (Win32Exception e) when (e.NativeErrorCode == ENOENT && mount.Source == MountPlan.DaemonSocket)
        {
            throw new ContainerDException(ErrorKind.StartFailed,
                $"nix.daemon: the host's nix-daemon does not listen on {mount.Source}; start it (systemctl enable --now nix-daemon.socket, or run nix-daemon) and start the container again");
        }
        catch (Win32Exception e) when (e.NativeErrorCode == ENOENT)
        {
            throw new ContainerDException(ErrorKind.StartFailed,
                $"bind mount source {mount.Source} does not exist; create it, or set create: true in the definition");
        }
    }

    private static void Check(int errno, string call, string what)
    {
        if (errno != 0)
        {
            throw Error(errno, call, what);
        }
    }
}
