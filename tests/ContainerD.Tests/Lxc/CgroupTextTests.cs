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

    [Theory]
    [InlineData("/lxc.payload.web", "lxc.payload.web")]
    [InlineData("/lxc.payload.web/init.scope", "lxc.payload.web")]
    [InlineData("/lxc.payload.web/hidden/deeper", "lxc.payload.web")] // the container's root moved its init below its own cgroup
    [InlineData("/lxc.payload.webber/x", "lxc.payload.webber/x")]      // another container's name is not this one's
    [InlineData("/elsewhere/init.scope", "elsewhere")]
    public void Given_its_name_a_containers_cgroup_ends_at_lxcs_cgroup_for_it(string path, string expected) =>
        Assert.Equal(expected, CgroupText.ParseProcCgroup($"4:memory:{path}\n", "web")["memory"]);

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

public sealed class UsageTextTests
{
    [Fact]
    public void V1_blkio_counts_read_and_write_over_every_device_and_leaves_the_total_out()
    {
        var (read, write) = CgroupText.ParseIoBytes("""
            254:0 Read 4096
            254:0 Write 8192
            254:0 Sync 12288
            254:0 Async 0
            254:0 Discard 0
            254:0 Total 12288
            8:16 Read 100
            8:16 Write 1
            Total 12389

            """);
        Assert.Equal(4196UL, read);
        Assert.Equal(8193UL, write);
    }

    [Fact]
    public void V2_io_stat_sums_rbytes_and_wbytes_over_devices()
    {
        var (read, write) = CgroupText.ParseIoBytes("254:0 rbytes=1048576 wbytes=4096 rios=12 wios=1 dbytes=0 dios=0\n8:0 rbytes=10 wbytes=20 rios=1 wios=1\n");
        Assert.Equal(1048586UL, read);
        Assert.Equal(4116UL, write);
    }

    [Theory]
    [InlineData("")]
    [InlineData("Total 0\n")]
    public void A_cgroup_that_did_no_io_has_read_and_written_nothing(string text) => Assert.Equal((0UL, 0UL), CgroupText.ParseIoBytes(text));

    [Fact]
    public void A_veths_host_end_counts_the_other_way_round()
    {
        // The host end received 100 bytes in 2 packets (the container sent them) and sent 300 in 4.
        var counters = InterfaceCounters.FromHostEnd("eth0", hostRxBytes: 100, hostRxPackets: 2, hostTxBytes: 300, hostTxPackets: 4);
        Assert.Equal(new InterfaceCounters("eth0", RxBytes: 300, RxPackets: 4, TxBytes: 100, TxPackets: 2), counters);
    }
}
