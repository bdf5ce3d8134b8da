using System.Diagnostics;
using ContainerD.Os.Filesystem;

namespace ContainerD.Tests.Os;

/// <summary>A root's disk use as `du -s -x` counts it: blocks once per inode, no symlink followed.</summary>
public sealed class DiskUsageTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("containerd-du-").FullName;

    public void Dispose() => FileTree.Delete(_dir);

    [Fact]
    public void A_tree_measures_what_du_measures_with_hard_links_once_and_symlinks_not_followed()
    {
        string root = Path.Combine(_dir, "rootfs"), outside = Path.Combine(_dir, "outside");
        Directory.CreateDirectory(Path.Combine(root, "var", "lib", "deep", "er"));
        Directory.CreateDirectory(outside);
        File.WriteAllBytes(Path.Combine(outside, "big"), new byte[4 << 20]);
        File.WriteAllBytes(Path.Combine(root, "var", "lib", "data"), Enumerable.Range(0, 300_000).Select(i => (byte)i).ToArray());
        File.WriteAllBytes(Path.Combine(root, "var", "lib", "deep", "er", "small"), [1, 2, 3]);
        File.CreateSymbolicLink(Path.Combine(root, "escape"), outside);
        File.CreateSymbolicLink(Path.Combine(root, "var", "big"), Path.Combine(outside, "big"));
        Link(Path.Combine(root, "var", "lib", "data"), Path.Combine(root, "data-again"));

        ulong measured = DiskUsage.Measure(root);

        Assert.Equal(Du(root), measured);
        Assert.InRange(measured, 300_000UL, 1UL << 20); // the 4 MiB behind the symlinks is not in it
    }

    [Fact]
    public void Growing_a_file_by_10_MB_grows_the_figure_by_as_much()
    {
        string root = Path.Combine(_dir, "rootfs");
        Directory.CreateDirectory(Path.Combine(root, "root"));
        ulong before = DiskUsage.Measure(root);
        File.WriteAllBytes(Path.Combine(root, "root", "ten"), Enumerable.Repeat((byte)7, 10_000_000).ToArray());
        ulong after = DiskUsage.Measure(root);
        Assert.InRange(after - before, 10_000_000UL, 10_100_000UL);
    }

    [Fact]
    public void A_missing_root_or_a_symlink_as_the_root_is_an_error_not_a_figure()
    {
        Assert.Throws<IOException>(() => DiskUsage.Measure(Path.Combine(_dir, "missing")));
        File.CreateSymbolicLink(Path.Combine(_dir, "link"), _dir);
        Assert.Throws<IOException>(() => DiskUsage.Measure(Path.Combine(_dir, "link")));
    }

    private static void Link(string target, string link)
    {
        using var ln = Process.Start("ln", [target, link]);
        ln.WaitForExit();
        Assert.Equal(0, ln.ExitCode);
    }

    private static ulong Du(string path)
    {
        var startInfo = new ProcessStartInfo("du", ["-s", "-x", "-B1", path]) { RedirectStandardOutput = true };
        using var du = Process.Start(startInfo)!;
        string output = du.StandardOutput.ReadToEnd();
        du.WaitForExit();
        return ulong.Parse(output.Split('\t')[0], System.Globalization.CultureInfo.InvariantCulture);
    }
}
