using ContainerD.Domain;
using ContainerD.Domain.Definitions;
using ContainerD.Domain.IdMapping;
using ContainerD.Domain.Lxc;

namespace ContainerD.Tests.Lxc;

public sealed class LxcConfigRendererTests
{
    private static readonly HostFeatures HybridHost = new(IdmappedMounts: true, AppArmor: false, SeccompProfile: "/usr/share/lxc/config/common.seccomp",
        CgroupV2Controllers: new HashSet<string>(), CgroupV1Controllers: new HashSet<string> { "memory", "pids", "cpu" });
    private static readonly HostFeatures UnifiedHost = HybridHost with
    {
        CgroupV2Controllers = new HashSet<string> { "memory", "pids", "cpu" },
        CgroupV1Controllers = new HashSet<string>(),
    };

    private static string Render(string extraYaml = "", HostFeatures? host = null, long rangeStart = 300_000) =>
        LxcConfigRenderer.Render(new LxcContainerSpec(
            DefinitionParser.Parse("name: web\nsystem: { path: /nix/store/0123456789abcdfghijklmnpqrsvwxyz-system }\n" + extraYaml, "web.yaml", "web"),
            new IdRange(rangeStart, 65536), "/var/lib/containerctld/containers/web/rootfs", "/nix/var/nix/profiles/per-container/web",
            "/var/lib/containerctld/lxc/web/console.log"), host ?? HybridHost);

    private static string[] Values(string config, string key) =>
        config.Split('\n').Where(l => l.StartsWith(key + " = ", StringComparison.Ordinal)).Select(l => l[(key.Length + 3)..]).ToArray();

    [Fact]
    public void Container_root_maps_to_the_ranges_first_uid_and_gid_never_to_host_root()
    {
        string config = Render();
        Assert.Equal(["u 0 300000 65536", "g 0 300000 65536"], Values(config, "lxc.idmap"));
        Assert.Equal(["dir:/var/lib/containerctld/containers/web/rootfs"], Values(config, "lxc.rootfs.path"));
        Assert.Equal(["/nix/var/nix/profiles/system/init"], Values(config, "lxc.init.cmd"));
        var e = Assert.Throws<ContainerDException>(() => Render(rangeStart: 0));
        Assert.Contains("host uid 0", e.Message);
    }

    [Fact]
    public void Nix_inside_uses_the_hosts_daemon_when_the_definition_asks_for_it()
    {
        Assert.Equal(["NIX_REMOTE=daemon"], Values(Render("nix: { daemon: true }\n"), "lxc.environment"));
        Assert.Empty(Values(Render(), "lxc.environment"));
    }

    [Fact]
    public void LXC_makes_no_mount_of_the_store_profile_or_binds_its_root_could_undo()
    {
        // Made by the daemon on the host side instead (MountPlan): see MountPlanTests.
        Assert.Empty(Values(Render("bindMounts: [{ host: /srv/ro, container: /data/ro }]\n"), "lxc.mount.entry"));
        var e = Assert.Throws<ContainerDException>(() => Render("bindMounts: [{ host: /srv/m, container: /m, idmapped: true }]\n", HybridHost with { IdmappedMounts = false }));
        Assert.Equal(ErrorKind.HostUnsupported, e.Kind);
    }

    [Theory]
    [InlineData("10.231.0.2/30", "10.231.0.2/30 10.231.0.3")]
    [InlineData("10.231.1.5/24", "10.231.1.5/24 10.231.1.255")]
    [InlineData("192.168.7.9/16", "192.168.7.9/16 192.168.255.255")]
    [InlineData("10.0.0.1/31", "10.0.0.1/31")]
    [InlineData("10.0.0.1/32", "10.0.0.1/32")]
    public void The_container_address_carries_its_broadcast_address(string cidr, string rendered) =>
        Assert.Equal(rendered, LxcConfigRenderer.WithBroadcast(cidr));

    [Fact]
    public void Without_a_network_the_container_has_only_loopback()
    {
        Assert.Equal(["empty"], Values(Render(), "lxc.net.0.type"));
        Assert.Empty(Values(Render(), "lxc.net.0.veth.pair"));
    }

    [Fact]
    public void A_point_to_point_veth_has_a_deterministic_host_end_and_the_container_addresses()
    {
        string config = Render("network: { mode: veth, hostAddress: 10.231.0.1/30, localAddress: 10.231.0.2/30, hostAddress6: 'fd42::1/64', localAddress6: 'fd42::2/64' }\n");
        Assert.Equal(["veth"], Values(config, "lxc.net.0.type"));
        Assert.Equal(["ve-web"], Values(config, "lxc.net.0.veth.pair"));
        Assert.Equal(["10.231.0.2/30 10.231.0.3"], Values(config, "lxc.net.0.ipv4.address"));
        Assert.Equal(["fd42::2/64"], Values(config, "lxc.net.0.ipv6.address"));
        Assert.Empty(Values(config, "lxc.net.0.link"));
        Assert.Equal(["br0"], Values(Render("network: { mode: veth, bridge: br0, localAddress: 10.231.1.5/24 }\n"), "lxc.net.0.link"));
    }

    [Fact]
    public void Host_interface_names_fit_IFNAMSIZ_and_do_not_collide_for_long_names()
    {
        Assert.Equal("ve-web", LxcConfigRenderer.HostInterfaceName("web"));
        Assert.Equal("ve-abcdefghijkl", LxcConfigRenderer.HostInterfaceName("abcdefghijkl"));
        string a = LxcConfigRenderer.HostInterfaceName("a-very-long-container-name-1");
        string b = LxcConfigRenderer.HostInterfaceName("a-very-long-container-name-2");
        Assert.True(a.Length <= 15 && b.Length <= 15, $"{a} {b}");
        Assert.NotEqual(a, b);
        Assert.Equal(a, LxcConfigRenderer.HostInterfaceName("a-very-long-container-name-1"));
    }

    [Fact]
    public void Limits_go_to_the_hierarchy_that_has_the_controller()
    {
        const string limits = "limits: { memory: 512M, pids: 100, cpus: 1.5 }\n";
        string hybrid = Render(limits);
        Assert.Equal(["536870912"], Values(hybrid, "lxc.cgroup.memory.limit_in_bytes"));
        Assert.Equal(["100"], Values(hybrid, "lxc.cgroup.pids.max"));
        Assert.Equal(["150000"], Values(hybrid, "lxc.cgroup.cpu.cfs_quota_us"));
        Assert.DoesNotContain("lxc.cgroup2.", hybrid);

        string unified = Render(limits, UnifiedHost);
        Assert.Equal(["536870912"], Values(unified, "lxc.cgroup2.memory.max"));
        Assert.Equal(["100"], Values(unified, "lxc.cgroup2.pids.max"));
        Assert.Equal(["150000 100000"], Values(unified, "lxc.cgroup2.cpu.max"));
        Assert.DoesNotContain("lxc.cgroup.", unified);
    }

    [Fact]
    public void A_limit_no_controller_can_apply_is_an_error_not_dropped()
    {
        var e = Assert.Throws<ContainerDException>(() => Render("limits: { pids: 100 }\n", HybridHost with { CgroupV1Controllers = new HashSet<string> { "memory" } }));
        Assert.Equal(ErrorKind.HostUnsupported, e.Kind);
        Assert.Contains("pids", e.Message);
    }

    [Fact]
    public void The_console_log_is_capped_and_rotated()
    {
        string config = Render();
        Assert.Equal(["/var/lib/containerctld/lxc/web/console.log"], Values(config, "lxc.console.logfile"));
        Assert.Equal(["1MB"], Values(config, "lxc.console.size"));
        Assert.Equal(["1"], Values(config, "lxc.console.rotate"));
    }
}
