using System.Text;
using ContainerD.Os.Filesystem;
using Microsoft.Win32.SafeHandles;

namespace ContainerD.Tests.Os;

/// <summary>Deleting by file descriptor what a container may make: any bytes in names, any depth, links that point away.</summary>
public sealed class FileTreeTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("containerd-tree-").FullName;

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            FileTree.Delete(_dir);
        }
    }

    [Fact]
    public void A_tree_deeper_than_PATH_MAX_with_names_that_are_not_UTF8_goes_whole()
    {
        string root = Path.Combine(_dir, "rootfs");
        Directory.CreateDirectory(root);
        using (var top = Native.Openat(null, Native.Z(root), Native.ORdonly | Native.ODirectory))
        {
            // 'dir\377' as a container makes it: mkdir "/root/$(printf 'dir\377')".
            byte[] odd = Native.Z([.. "dir"u8, 0xff]);
            Assert.Equal(0, Native.TryMkdirat(top, odd, 0b111_101_101));
            using var inOdd = Native.Openat(top, odd, Native.ORdonly | Native.ODirectory);
            Native.Openat(inOdd, Native.Z([.. "file"u8, 0xfe, 0x80]), Native.OWronly | Native.OCreat, 0b110_100_100).Dispose();
            // 3000 levels of "deep/": 15 000 bytes of path, more than PATH_MAX (4096).
            SafeFileHandle level = Native.Openat(top, Native.Z("."), Native.ORdonly | Native.ODirectory);
            for (int i = 0; i < 3000; i++)
            {
                Assert.Equal(0, Native.TryMkdirat(level, Native.Z("deep"), 0b111_101_101));
                var next = Native.Openat(level, Native.Z("deep"), Native.ORdonly | Native.ODirectory);
                level.Dispose();
                level = next;
            }
            Native.Openat(level, Native.Z("bottom"), Native.OWronly | Native.OCreat, 0b110_100_100).Dispose();
            level.Dispose();
        }

        FileTree.Delete(root);

        Assert.False(Directory.Exists(root));
        Assert.Empty(Directory.EnumerateFileSystemEntries(_dir));
    }

    [Fact]
    public void Symlinks_are_removed_never_followed()
    {
        string outside = Path.Combine(_dir, "outside"), root = Path.Combine(_dir, "rootfs");
        Directory.CreateDirectory(outside);
        File.WriteAllText(Path.Combine(outside, "keep"), "host file\n");
        Directory.CreateDirectory(Path.Combine(root, "etc"));
        File.CreateSymbolicLink(Path.Combine(root, "etc", "to-outside"), outside);
        File.CreateSymbolicLink(Path.Combine(root, "dangling"), "/nonexistent/x");
        File.CreateSymbolicLink(Path.Combine(root, "loop"), Path.Combine(root, "loop"));

        FileTree.Delete(root);

        Assert.False(Directory.Exists(root));
        Assert.Equal("host file\n", File.ReadAllText(Path.Combine(outside, "keep")));
    }

    [Fact]
    public void What_is_not_there_is_deleted_already_and_a_file_is_deleted_as_a_file()
    {
        FileTree.Delete(Path.Combine(_dir, "absent"));
        string file = Path.Combine(_dir, "plain");
        File.WriteAllText(file, "x");
        FileTree.Delete(file);
        Assert.False(File.Exists(file));
    }

    [Fact]
    public void Mountinfo_mount_points_are_read_as_bytes_with_escapes_undone()
    {
        byte[] mountinfo = Encoding.UTF8.GetBytes(
            "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n" +
            "90 27 254:0 /nix/store /var/lib/c/containers/web/rootfs/nix/store ro,nodev - ext4 /dev/vda rw\n" +
            "91 27 254:0 /srv /var/lib/c/containers/web/rootfs/my\\040data ro - ext4 /dev/vda rw\n" +
            "92 27 254:0 /srv /var/lib/c/containers/web/rootfs2 ro - ext4 /dev/vda rw\n" +
            "93 27 254:0 /srv /var/lib/c/containers/web/rootfs ro - ext4 /dev/vda rw\n");
        var under = MountInfo.MountPointsUnder(mountinfo, Encoding.UTF8.GetBytes("/var/lib/c/containers/web/rootfs"))
            .Select(Encoding.UTF8.GetString).ToList();
        Assert.Equal(["/var/lib/c/containers/web/rootfs/nix/store", "/var/lib/c/containers/web/rootfs/my data", "/var/lib/c/containers/web/rootfs"], under);
    }
}
