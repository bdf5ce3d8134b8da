using ContainerD.Domain.Lxc;

namespace ContainerD.Tests.Lxc;

public sealed class CgroupTextTests
{
    private const string HybridProcCgroup = """
        12:name=systemd:/lxc.payload.web
        11:pids:/lxc.payload.web
        4:memory:/lxc.payload.web
        2:cpu,cpuacct:/lxc.payload.web
        0::/lxc.payload.web/init.scope

        """;

    [Fact]
    public void Proc_cgroup_gives_each_v1_controller_and_the_unified_path_without_named_hierarchies()
    {
        var paths = CgroupText.ParseProcCgroup(HybridProcCgroup);
        Assert.Equal("lxc.payload.web", paths["pids"]);
        Assert.Equal("lxc.payload.web", paths["memory"]);
        Assert.Equal("lxc.payload.web", paths["cpu"]);
        Assert.Equal("lxc.payload.web", paths["cpuacct"]);
        Assert.Equal("lxc.payload.web", paths[""]); // init.scope taken off
        Assert.DoesNotContain("name=systemd", paths.Keys);
    }

    [Theory]
    [InlineData("/", "")]
    [InlineData("/a/b", "a/b")]
    [InlineData("/a//b/", "a/b")]
    [InlineData("/init.scope", "")]
    [InlineData("/a:b", "a:b")]
    public void A_plain_absolute_cgroup_path_becomes_relative(string path, string expected) =>
        Assert.Equal(expected, CgroupText.SafePath(path));

    [Theory]
    [InlineData("")]
    [InlineData("relative")]
    [InlineData("/a/../../etc")]
    [InlineData("/./a")]
    [InlineData("/a\0b")]
    public void A_cgroup_path_that_is_not_plain_is_refused(string path) => Assert.Null(CgroupText.SafePath(path));

    [Fact]
    public void A_line_with_a_path_that_climbs_is_left_out()
    {
        var paths = CgroupText.ParseProcCgroup("4:memory:/../../x\n11:pids:/ok\n");
        Assert.False(paths.ContainsKey("memory"));
        Assert.Equal("ok", paths["pids"]);
    }

    [Fact]
    public void Mounts_give_the_unified_mount_and_each_v1_controllers_mount()
    {
        var mounts = CgroupText.ParseMounts("""
            tmpfs /sys/fs/cgroup tmpfs rw,relatime,mode=755 0 0
            cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,relatime,cpu,cpuacct 0 0
            cgroup /sys/fs/cgroup/memory cgroup rw,relatime,memory 0 0
            cgroup /sys/fs/cgroup/sys\040temd cgroup rw,relatime,name=systemd 0 0
            cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0
            """);
        Assert.Equal("/sys/fs/cgroup/unified", mounts.V2);
        Assert.Equal("/sys/fs/cgroup/cpu,cpuacct", mounts.V1["cpuacct"]);
        Assert.Equal("/sys/fs/cgroup/cpu,cpuacct", mounts.V1["cpu"]);
        Assert.Equal("/sys/fs/cgroup/memory", mounts.V1["memory"]);
        Assert.False(mounts.V1.ContainsKey("pids"));
    }

    [Theory]
    [InlineData("12345\n", 12345UL)]
    [InlineData("0", 0UL)]
    [InlineData("-1", null)]
    [InlineData("max", null)]
    [InlineData("", null)]
    public void A_counter_is_one_unsigned_number(string text, ulong? expected) => Assert.Equal(expected, CgroupText.ParseCounter(text));

    [Theory]
    [InlineData("max\n", null)]
    [InlineData("536870912\n", 536870912UL)]
    [InlineData("16384", 16384UL)]
    [InlineData("9223372036854771712\n", null)] // v1's "no limit"
    public void A_limit_is_a_number_or_none(string text, ulong? expected) => Assert.Equal(expected, CgroupText.ParseLimit(text));

    [Fact]
    public void Cpu_stat_usage_usec_is_given_in_nanoseconds()
    {
        Assert.Equal(1_234_567_000UL, CgroupText.ParseCpuStatNSec("usage_usec 1234567\nuser_usec 1000000\nsystem_usec 234567\n"));
        Assert.Null(CgroupText.ParseCpuStatNSec("user_usec 1\n"));
    }
}
