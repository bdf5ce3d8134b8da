using ContainerD.Domain.IdMapping;
using ContainerD.Os;

namespace ContainerD.Tests.Os;

/// <summary>The adapters that write host files, against files in a temporary directory.</summary>
public sealed class HostFilesTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("containerd-unit-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string PathOf(string name) => Path.Combine(_dir, name);

    [Fact]
    public void AtomicFile_writes_content_and_mode_and_leaves_no_temp_file()
    {
        string file = PathOf("state.json");
        File.WriteAllText(file, "old and longer content");
        AtomicFile.Write(file, "{\"new\":1}", UnixFileMode.UserRead | UnixFileMode.UserWrite);
        Assert.Equal("{\"new\":1}", File.ReadAllText(file));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        Assert.Equal(["state.json"], Directory.GetFiles(_dir).Select(f => Path.GetFileName(f)).ToArray());
    }

    [Fact]
    public void SubIdStore_adds_roots_pool_once_keeping_the_admins_lines()
    {
        string subuid = PathOf("subuid"), subgid = PathOf("subgid");
        File.WriteAllText(subuid, "# local users\nalice:100000:65536\n");
        File.SetUnixFileMode(subuid, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        var store = new SubIdStore(subuid, subgid);
        var pool = new IdRange(1_000_000, 65536 * 4);
        Assert.False(store.Covers("root", pool));

        store.EnsureOwned("root", pool);
        store.EnsureOwned("root", pool); // a second start adds nothing
        Assert.Equal("# local users\nalice:100000:65536\nroot:1000000:262144\n", File.ReadAllText(subuid));
        Assert.Equal("root:1000000:262144\n", File.ReadAllText(subgid)); // created when missing
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead, File.GetUnixFileMode(subuid));
        Assert.True(store.Covers("root", pool));
        Assert.Equal([("alice", new IdRange(100_000, 65536))], store.ReadForeign("root").ToArray());
        Assert.False(File.Exists(subuid + ".lock"));
    }

    [Fact]
    public void SubIdStore_treats_uid_0_as_root()
    {
        string subuid = PathOf("subuid"), subgid = PathOf("subgid");
        File.WriteAllText(subuid, "0:1000000:65536\n");
        File.WriteAllText(subgid, "root:1000000:65536\n");
        var store = new SubIdStore(subuid, subgid);
        Assert.True(store.Covers("root", new IdRange(1_000_000, 65536)));
        Assert.Empty(store.ReadForeign("root"));
    }

    [Fact]
    public void ShadowLock_excludes_a_second_holder_and_breaks_a_dead_holders_lock()
    {
        string file = PathOf("subuid");
        using (ShadowLock.Take(file))
        {
            Assert.True(File.Exists(file + ".lock"));
            // Held by a live process (us): a second taker waits, then gives up with a clear message.
            var e = Assert.Throws<IOException>(() => ShadowLock.Take(file, TimeSpan.FromMilliseconds(200)));
            Assert.Contains("locked by another program", e.Message);
        }
        Assert.False(File.Exists(file + ".lock"));

        // A lock left by a process that is gone is stale: shadow breaks it, and so do we.
        File.WriteAllText(file + ".lock", "999999999");
        using (ShadowLock.Take(file, TimeSpan.FromSeconds(2)))
        {
            Assert.Equal(Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture), File.ReadAllText(file + ".lock"));
        }
    }

    [Fact]
    public void HostProbe_reads_cgroup_hierarchies_apparmor_and_seccomp_from_the_given_root()
    {
        Directory.CreateDirectory(PathOf("sys/fs/cgroup/unified"));
        File.WriteAllText(PathOf("sys/fs/cgroup/unified/cgroup.controllers"), "cpu io\n");
        Directory.CreateDirectory(PathOf("proc/self"));
        File.WriteAllText(PathOf("proc/self/mounts"), """
            tmpfs /sys/fs/cgroup tmpfs ro,nosuid 0 0
            cgroup2 /sys/fs/cgroup/unified cgroup2 rw,nosuid,nsdelegate 0 0
            cgroup /sys/fs/cgroup/memory cgroup rw,nosuid,memory 0 0
            cgroup /sys/fs/cgroup/pids cgroup rw,nosuid,pids 0 0
            cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,nosuid,cpu,cpuacct 0 0
            """);
        Directory.CreateDirectory(PathOf("sys/module/apparmor/parameters"));
        File.WriteAllText(PathOf("sys/module/apparmor/parameters/enabled"), "Y\n");
        Directory.CreateDirectory(PathOf("usr/share/lxc/config"));
        File.WriteAllText(PathOf("usr/share/lxc/config/common.seccomp"), "2\n");

        var host = HostProbe.Detect(_dir);
        Assert.Equal(["cpu", "io"], host.CgroupV2Controllers.Order());
        Assert.Equal(["cpu", "cpuacct", "memory", "pids"], host.CgroupV1Controllers.Order());
        Assert.False(host.AppArmor); // enabled in the module, but securityfs is not there: not usable
        Directory.CreateDirectory(PathOf("sys/kernel/security/apparmor"));
        Assert.True(HostProbe.Detect(_dir).AppArmor);
        Assert.Equal("/usr/share/lxc/config/common.seccomp", host.SeccompProfile);
        Assert.Null(HostProbe.Detect(PathOf("nothing-here")).SeccompProfile);
    }
}
