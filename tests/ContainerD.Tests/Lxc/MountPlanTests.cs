using ContainerD.Domain;
using ContainerD.Domain.Definitions;
using ContainerD.Domain.IdMapping;
using ContainerD.Domain.Lxc;

namespace ContainerD.Tests.Lxc;

public sealed class MountPlanTests
{
    private static readonly HostFeatures Host = new(IdmappedMounts: true, AppArmor: false, SeccompProfile: null,
        CgroupV2Controllers: new HashSet<string>(), CgroupV1Controllers: new HashSet<string>());

    private static IReadOnlyList<HostMount> Plan(string extraYaml = "", HostFeatures? host = null) =>
        MountPlan.For(new LxcContainerSpec(
            DefinitionParser.Parse("name: web\nsystem: { path: /nix/store/0123456789abcdfghijklmnpqrsvwxyz-system }\n" + extraYaml, "web.yaml", "web"),
            new IdRange(300_000, 65536), "/var/lib/containerctld/containers/web/rootfs", "/nix/var/nix/profiles/per-container/web",
            "/var/lib/containerctld/lxc/web/console.log"), host ?? Host);

    [Fact]
    public void The_store_and_profile_come_first_read_only_the_store_idmapped_where_the_host_can()
    {
        var plan = Plan();
        Assert.Equal([
            new HostMount("/nix/store", "/nix/store", ReadOnly: true, MountIdmap.Preferred),
            new HostMount("/nix/var/nix/profiles/per-container/web", "/nix/var/nix/profiles", ReadOnly: true, MountIdmap.None),
        ], plan);
        Assert.Equal(MountIdmap.None, Plan(host: Host with { IdmappedMounts = false })[0].Idmap);
    }

    [Fact]
    public void Bind_mounts_are_read_only_writable_or_idmapped_as_asked_parents_before_what_lies_under_them()
    {
        var plan = Plan("""
            bindMounts:
              - { host: /srv/sub, container: /data/sub }
              - { host: /srv/rw, container: /data, readOnly: false, create: true }
              - { host: /srv/mapped, container: /mapped, idmapped: true }
              - { host: /srv/made, container: /made, create: true }
            """).Skip(2).ToList();
        Assert.Equal([
            new HostMount("/srv/rw", "/data", ReadOnly: false, MountIdmap.None, CreateSource: true, SourceOwner: 300_000),
            new HostMount("/srv/sub", "/data/sub", ReadOnly: true, MountIdmap.None),
            new HostMount("/srv/made", "/made", ReadOnly: true, MountIdmap.None, CreateSource: true, SourceOwner: null),
            new HostMount("/srv/mapped", "/mapped", ReadOnly: true, MountIdmap.Required),
        ], plan);
    }

    [Fact]
    public void An_idmapped_bind_mount_needs_a_host_that_can_make_one()
    {
        var e = Assert.Throws<ContainerDException>(() => Plan("bindMounts: [{ host: /srv/m, container: /m, idmapped: true }]\n", Host with { IdmappedMounts = false }));
        Assert.Equal(ErrorKind.HostUnsupported, e.Kind);
    }

    [Fact]
    public void A_writable_idmapped_bind_mount_is_refused_its_root_would_write_as_host_root()
    {
        var e = Assert.ThrowsAny<ContainerDException>(() => Plan("bindMounts: [{ host: /srv/m, container: /m, readOnly: false, idmapped: true }]\n"));
        Assert.Equal(ErrorKind.InvalidDefinition, e.Kind);
        Assert.Contains("bindMounts[0].idmapped", e.Message);
        Assert.Contains("must be read-only", e.Message);
    }

    [Fact]
    public void The_nix_daemon_brings_its_socket_directory_read_only_and_a_gc_root_directory_of_the_containers_own()
    {
        var plan = Plan("nix: { daemon: true }\n").Skip(2).ToList();
        Assert.Equal([
            new HostMount("/nix/var/nix/daemon-socket/socket", "/nix/var/nix/daemon-socket/socket", ReadOnly: true, MountIdmap.None),
            new HostMount("/nix/var/nix/gcroots/per-container/web", "/nix/var/nix/gcroots/per-container/web", ReadOnly: false, MountIdmap.None,
                CreateSource: true, SourceOwner: 300_000),
        ], plan);
        // Never the database, never the store writable.
        Assert.DoesNotContain(Plan("nix: { daemon: true }\n"), m => m.Target.StartsWith("/nix/var/nix/db", StringComparison.Ordinal) || (m.Target == "/nix/store" && !m.ReadOnly));
        Assert.Equal(2, Plan().Count);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void The_plan_file_says_whether_the_root_is_ephemeral(bool ephemeral)
    {
        var mounts = Plan("nix: { daemon: true }\n");
        string text = MountPlan.Serialize("/var/lib/containerctld/containers/web/rootfs", new IdRange(300_000, 65536), mounts, ephemeral);

        var (rootfs, ids, parsed, readEphemeral) = MountPlan.Parse(text);
        Assert.Equal("/var/lib/containerctld/containers/web/rootfs", rootfs);
        Assert.Equal(new IdRange(300_000, 65536), ids);
        Assert.Equal(mounts, parsed);
        Assert.Equal(ephemeral, readEphemeral);
        Assert.Equal(ephemeral, text.Contains("root\ttmpfs\n", StringComparison.Ordinal));
    }
}
