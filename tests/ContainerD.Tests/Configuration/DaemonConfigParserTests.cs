using ContainerD.Domain.Configuration;
using ContainerD.Domain.Definitions;
using ContainerD.Domain.IdMapping;

namespace ContainerD.Tests.Configuration;

public class DaemonConfigParserTests
{
    private static string[] Errors(string yaml)
    {
        var e = Assert.Throws<InvalidDefinitionException>(() => DaemonConfigParser.Parse(yaml, "config.yaml"));
        return e.Errors.Select(error => error.ToString()).ToArray();
    }

    [Theory]
    [InlineData("")]
    [InlineData("# every key is optional\n")]
    [InlineData("---\n")]
    public void An_empty_config_gives_the_defaults(string yaml)
    {
        Assert.Equal(new DaemonConfig(), DaemonConfigParser.Parse(yaml, "config.yaml"));
    }

    [Fact]
    public void The_defaults_are_those_of_a_real_host()
    {
        var config = DaemonConfigParser.Parse("", "config.yaml");

        Assert.Equal("system", config.Bus);
        Assert.Equal("io.containerctl.ContainerD1", config.BusName);
        Assert.Equal("/var/lib/containerctld", config.StateDir);
        Assert.Equal("/etc/containerctld/containers", config.DefinitionsDir);
        Assert.Equal("/nix/var/nix/profiles/per-container", config.ProfilesDir);
        Assert.Null(config.LxcPath);
        Assert.Equal(new IdRange(1_073_741_824, 805_306_368), config.IdPool);
        Assert.True(config.ManageSubIds);
        Assert.Equal("containerctl", config.AdminGroup);
        Assert.False(config.PruneDeclarative);
    }

    [Fact]
    public void The_example_from_the_design_parses()
    {
        const string yaml = """
            bus: system                 # system | session | a D-Bus address (unix:path=…)
            busName: io.containerctl.ContainerD1
            stateDir: /var/lib/containerctld
            definitionsDir: /etc/containerctld/containers
            profilesDir: /nix/var/nix/profiles/per-container
            idPool: { base: 1073741824, size: 805306368 }
            manageSubIds: true          # add root's pool to /etc/subuid and /etc/subgid if missing
            adminGroup: containerctl    # may change containers, besides root
            """;

        Assert.Equal(new DaemonConfig(), DaemonConfigParser.Parse(yaml, "config.yaml"));
    }

    [Fact]
    public void The_default_pool_leaves_useradd_and_NixOS_their_subordinate_ids()
    {
        var pool = new DaemonConfig().IdPool;
        Assert.Equal(0, pool.Start % 65536);
        Assert.Equal(0, pool.Count % 65536);
        Assert.True(pool.End <= 1L << 31, $"{pool} reaches 2^31");
        // Debian's /etc/login.defs: useradd allocates SUB_UID_COUNT ids between SUB_UID_MIN and SUB_UID_MAX.
        Assert.False(pool.Overlaps(new IdRange(100_000, 600_100_000 - 100_000 + 65536)), $"{pool} overlaps Debian's useradd range");
        // NixOS autoSubUidGidRange: 100000 + (uid - 1000) * 65536 for a normal user; uids count up from 1000.
        for (long uid = 1000; uid < 1000 + 16_000; uid++)
            Assert.False(pool.Overlaps(new IdRange(100_000 + ((uid - 1000) * 65536), 65536)), $"{pool} overlaps the NixOS range of uid {uid}");
        // systemd reserves 0x70000000 and above (its container range ends at 0x6FFFFFFF).
        Assert.True(pool.End <= 0x7000_0000);
        Assert.True(pool.Count / 65536 >= 10_000, "room for at least 10 000 containers");
    }

    [Fact]
    public void Default_limits_are_a_pids_limit_and_can_be_replaced_or_removed()
    {
        Assert.Equal(new ResourceLimits(null, null, 16384), new DaemonConfig().DefaultLimits);
        Assert.Equal(new ResourceLimits(512L << 20, null, 2048),
            DaemonConfigParser.Parse("defaultLimits: { memory: 512M, pids: 2048 }", "config.yaml").DefaultLimits);
        Assert.Equal(ResourceLimits.None, DaemonConfigParser.Parse("defaultLimits: {}", "config.yaml").DefaultLimits);
        Assert.Equal(["config.yaml:1:24: defaultLimits.pids 0 must be at least 1"], Errors("defaultLimits: { pids: 0 }"));
        // A definition's own limit wins, key by key.
        Assert.Equal(new ResourceLimits(64L << 20, 1.5, 16384), new ResourceLimits(64L << 20, 1.5, null).Over(new DaemonConfig().DefaultLimits));
        Assert.Equal(new ResourceLimits(null, null, 100_000), new ResourceLimits(null, null, 100_000).Over(new DaemonConfig().DefaultLimits));
    }

    [Fact]
    public void Bind_source_roots_default_to_srv_containers_and_refuse_the_whole_host()
    {
        Assert.Equal(new PathList(["/srv/containers"]), new DaemonConfig().BindSourceRoots);
        Assert.Equal(new PathList(["/srv/a", "/data/b"]), DaemonConfigParser.Parse("bindSourceRoots: [ /srv/a, /data/b ]", "config.yaml").BindSourceRoots);
        Assert.Equal(new PathList([]), DaemonConfigParser.Parse("bindSourceRoots: []", "config.yaml").BindSourceRoots);
        Assert.Contains("would let group members bind any host path", Assert.Single(Errors("bindSourceRoots: [ / ]")));
        Assert.Contains("is not an absolute path", Assert.Single(Errors("bindSourceRoots: [ srv ]")));
    }

    private const string Key = "cache.example.org-1:M2jR2XiR9mdS2vLL5Tu0hT4jYZ3F6wGli0Zdiu1ZX60=";

    [Fact]
    public void Binary_caches_are_none_by_default_and_come_with_the_keys_their_paths_must_be_signed_with()
    {
        Assert.False(new DaemonConfig().BinaryCaches.Any);
        var caches = DaemonConfigParser.Parse($"substituters: [ 'file:///srv/nix-cache', https://cache.example.org ]\ntrustedPublicKeys: [ '{Key}' ]", "config.yaml").BinaryCaches;
        Assert.Equal(new BinaryCaches(["file:///srv/nix-cache", "https://cache.example.org"], [Key]), caches);
        Assert.True(caches.Any);
        Assert.Equal(BinaryCaches.None, DaemonConfigParser.Parse("substituters: []\ntrustedPublicKeys: []", "config.yaml").BinaryCaches);

        Assert.Equal(["config.yaml:1:15: substituters need trustedPublicKeys: a path is taken from a cache only with a signature by one of them (the daemon never turns signature checks off)"],
            Errors("substituters: [ 'file:///srv/nix-cache' ]"));
        Assert.Equal(["config.yaml:1:17: substituters[0] 'file://srv/cache' is not a binary cache URL such as file:///srv/nix-cache or https://cache.example.org (no spaces)"],
            Errors($"substituters: [ 'file://srv/cache' ]\ntrustedPublicKeys: [ '{Key}' ]"));
        Assert.Contains("is not a binary cache URL", Assert.Single(Errors($"substituters: [ 'file:///a file:///b' ]\ntrustedPublicKeys: [ '{Key}' ]")));
        Assert.Contains("is not a binary cache URL", Assert.Single(Errors($"substituters: [ 'ftp://cache' ]\ntrustedPublicKeys: [ '{Key}' ]")));
        Assert.Contains("substituters[0] must be a string", Assert.Single(Errors($"substituters: [ {{ url: x }} ]\ntrustedPublicKeys: [ '{Key}' ]")));
        Assert.Equal(["config.yaml:1:22: trustedPublicKeys[0] 'cache-1:abc' is not a public key as nix-store --generate-binary-cache-key writes it: NAME:BASE64 (44 characters), e.g. cache.example.org-1:…="],
            Errors("trustedPublicKeys: [ 'cache-1:abc' ]"));
        Assert.Contains("is not a public key", Assert.Single(Errors($"trustedPublicKeys: [ '{Key} {Key}' ]")));
    }

    [Fact]
    public void The_shipped_example_config_holds_the_defaults()
    {
        string example = Path.Combine(RepoRoot(), "examples", "config.yaml");
        Assert.Equal(new DaemonConfig(), DaemonConfigParser.Parse(File.ReadAllText(example), example));
    }

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "ContainerD.sln")))
                return dir.FullName;
        }
        throw new InvalidOperationException("no ContainerD.sln above " + AppContext.BaseDirectory);
    }

    [Fact]
    public void Every_key_can_be_set()
    {
        const string yaml = """
            bus: unix:path=/tmp/test/bus
            busName: io.containerctl.Test1
            stateDir: /tmp/test/state
            definitionsDir: /tmp/test/definitions
            profilesDir: /tmp/test/profiles
            lxcPath: /tmp/test/lxc
            runtimeDir: /tmp/test/run
            idPool: { base: 1000000, size: 655360 }
            manageSubIds: false
            adminGroup: wheel
            pruneDeclarative: true
            """;

        var config = DaemonConfigParser.Parse(yaml, "config.yaml");

        Assert.Equal(
            new DaemonConfig
            {
                Bus = "unix:path=/tmp/test/bus",
                BusName = "io.containerctl.Test1",
                StateDir = "/tmp/test/state",
                DefinitionsDir = "/tmp/test/definitions",
                ProfilesDir = "/tmp/test/profiles",
                LxcPath = "/tmp/test/lxc",
                IdPool = new IdRange(1_000_000, 655_360),
                ManageSubIds = false,
                AdminGroup = "wheel",
                PruneDeclarative = true,
            },
            config);
        Assert.Equal("/tmp/test/lxc", config.EffectiveLxcPath);
    }

    [Fact]
    public void Part_of_the_pool_can_be_set()
    {
        Assert.Equal(new IdRange(200_000, 805_306_368), DaemonConfigParser.Parse("idPool: { base: 200000 }", "config.yaml").IdPool);
    }

    [Theory]
    [InlineData("session", "session")]
    [InlineData("unix:abstract=/tmp/dbus-x,guid=0123", "unix:abstract=/tmp/dbus-x,guid=0123")]
    public void Bus_takes_a_name_or_an_address(string bus, string expected)
    {
        Assert.Equal(expected, DaemonConfigParser.Parse($"bus: {bus}", "config.yaml").Bus);
    }

    [Theory]
    [InlineData("colour: blue\n", "config.yaml:1:1: unknown key 'colour' (allowed keys: bus, busName, stateDir, definitionsDir, profilesDir, gcRootsDir, lxcPath, runtimeDir, idPool, manageSubIds, adminGroup, pruneDeclarative, defaultLimits, bindSourceRoots, substituters, trustedPublicKeys)")]
    [InlineData("idPool: { start: 100000 }\n", "config.yaml:1:11: unknown key 'start' in idPool (allowed keys: base, size)")]
    [InlineData("idPool: { base: 0 }\n", "config.yaml:1:17: idPool.base 0 would overlap the host's own users; start the pool at 65536 or above")]
    [InlineData("idPool: { base: 1000 }\n", "config.yaml:1:17: idPool.base 1000 would overlap the host's own users; start the pool at 65536 or above")]
    [InlineData("idPool: { size: 1000 }\n", "config.yaml:1:17: idPool.size 1000 is too small for one container; it must be at least 65536")]
    [InlineData("idPool: { base: 100000, size: 4294967295 }\n", "config.yaml:1:31: idPool.base 100000 + idPool.size 4294967295 reach past the last usable id (4294967294)")]
    [InlineData("idPool: { base: 1e6 }\n", "config.yaml:1:17: idPool.base must be an integer, not '1e6'")]
    [InlineData("idPool: 100000-200000\n", "config.yaml:1:9: idPool must be a mapping, not '100000-200000'")]
    [InlineData("bus: systemd\n", "config.yaml:1:6: bus 'systemd' must be system, session or a D-Bus address such as unix:path=/run/dbus/system_bus_socket")]
    [InlineData("busName: containerd\n", "config.yaml:1:10: busName 'containerd' is not a D-Bus well-known name such as io.containerctl.ContainerD1")]
    [InlineData("busName: io.1containerctl\n", "config.yaml:1:10: busName 'io.1containerctl' is not a D-Bus well-known name such as io.containerctl.ContainerD1")]
    [InlineData("stateDir: var/lib/containerctld\n", "config.yaml:1:11: stateDir 'var/lib/containerctld' is not an absolute path")]
    [InlineData("profilesDir: '/nix/var/nix/my profiles'\n", "config.yaml:1:14: profilesDir '/nix/var/nix/my profiles' must not contain whitespace, '\\' or ','")]
    [InlineData("lxcPath: /var/lib/lxc/\n", "config.yaml:1:10: lxcPath '/var/lib/lxc/' is not normalized: remove any '//' and the trailing '/'")]
    [InlineData("manageSubIds: no\n", "config.yaml:1:15: manageSubIds must be true or false, not 'no'")]
    [InlineData("adminGroup: Container Admins\n", "config.yaml:1:13: adminGroup 'Container Admins' is not a group name: a lower-case letter or '_', then up to 31 lower-case letters, digits, '_' or '-'")]
    [InlineData("- bus: system\n", "config.yaml:1:1: the document must be a mapping of keys to values, not a list")]
    [InlineData("bus: system\nbus: session\n", "config.yaml:2:1: duplicate key 'bus'; it is already set on line 1")]
    public void Bad_configs_are_rejected_with_position_and_reason(string yaml, string expected)
    {
        Assert.Equal([expected], Errors(yaml));
    }

    [Fact]
    public void Every_problem_is_reported()
    {
        Assert.Equal(
            [
                "config.yaml:1:11: stateDir 'relative' is not an absolute path",
                "config.yaml:2:17: idPool.base 0 would overlap the host's own users; start the pool at 65536 or above",
                "config.yaml:2:26: idPool.size 10 is too small for one container; it must be at least 65536",
            ],
            Errors("stateDir: relative\nidPool: { base: 0, size: 10 }\n"));
    }
}
