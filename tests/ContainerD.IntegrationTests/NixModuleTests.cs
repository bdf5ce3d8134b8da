using System.Text.Json;
using System.Text.RegularExpressions;
using ContainerD.Domain.Configuration;
using ContainerD.Domain.Definitions;

namespace ContainerD.IntegrationTests;

/// <summary>
/// nix/module.nix evaluated as NixOS evaluates it, offline: nixpkgs' own module system (the vendored
/// lib of NixOS 24.11, tests/fixtures/nixpkgs-lib) and stub declarations of the NixOS options the
/// module sets (tests/fixtures/nixos-stub), for NixOS 24.11 and for the 2020-07 nixpkgs. The files it
/// writes are read with the daemon's own parsers.
/// </summary>
public sealed partial class NixModuleTests
{
    private static readonly string Stub = Path.Combine(Repo.Root, "tests/fixtures/nixos-stub");
    private static readonly string Module = Path.Combine(Repo.Root, "nix/module.nix");

    /// <summary>Evaluates one attribute of the stub's result for a host configuration (a NixOS module, as Nix text).</summary>
    private static async Task<JsonElement> EvalAsync(string configuration, string attribute, string release = "24.11")
    {
        var eval = await Programs.Run("nix-instantiate", "--eval", "--strict", "--json", Stub,
            "--arg", "configuration", configuration, "--argstr", "release", release, "-A", attribute);
        Assert.True(eval.ExitCode == 0, $"nix-instantiate -A {attribute} (NixOS {release}): {eval.Stderr}");
        using var json = JsonDocument.Parse(eval.Stdout);
        return json.RootElement.Clone();
    }

    private static string Host(string containerctld) => $$"""
        { imports = [ {{Module}} ]; services.containerctld = { enable = true; {{containerctld}} }; }
        """;

    /// <summary>The README's NixOS example, as written there; only the module's path is made absolute.</summary>
    private static string ReadmeExample()
    {
        string readme = File.ReadAllText(Path.Combine(Repo.Root, "README.md"));
        var block = NixBlock().Matches(readme).Select(m => m.Groups[1].Value).Single(b => b.Contains("services.containerctld", StringComparison.Ordinal));
        Assert.Contains("config = { ... }: { services.nginx.enable = true; };", block);
        Assert.Contains("./containerd/nix/module.nix", block);
        return block.Replace("./containerd/nix/module.nix", Module, StringComparison.Ordinal);
    }

    [GeneratedRegex("```nix\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex NixBlock();

    [Theory]
    [InlineData("24.11")]
    [InlineData("20.09")]
    public async Task The_READMEs_example_evaluates_with_the_hosts_platform_and_without_DHCP(string release)
    {
        string example = ReadmeExample();
        Assert.Equal(0, (await EvalAsync(example, "failedAssertions", release)).GetArrayLength());

        // The container's NixOS: the host's platform (not null, not builtins.currentSystem's guess
        // alone), a container, and no DHCP client: LXC gives it its address.
        var web = (await EvalAsync(example, "containerSystems", release)).GetProperty("web");
        Assert.Equal("x86_64-linux", web.GetProperty("platform").GetString());
        Assert.True(web.GetProperty("isContainer").GetBoolean());
        Assert.Equal("web", web.GetProperty("hostName").GetString());
        Assert.False(web.GetProperty("useDHCP").GetBoolean());
        Assert.False(web.GetProperty("dhcpcd").GetBoolean());

        // The definition the daemon reads, read by the daemon's parser.
        var etc = await EvalAsync(example, "etc", release);
        string yaml = etc.GetProperty("containerctld/containers/web.yaml").GetString()!;
        var definition = DefinitionParser.Parse(yaml, "web.yaml", "web");
        Assert.Equal(new StorePathSystem(web.GetProperty("toplevel").GetString()!), definition.System);
        Assert.Equal(("10.231.0.1/30", "10.231.0.2/30"), (definition.Network.HostAddress, definition.Network.LocalAddress));
        Assert.Equal(1L << 30, definition.Limits.MemoryBytes);

        // config.yaml and root's subordinate ids: one pool, the daemon's default (2^30 up to 0x6FFFFFFF):
        // above login.defs' SUB_UID_MAX (600100000), 65536-aligned, ending below 2^31.
        var config = DaemonConfigParser.Parse(etc.GetProperty("containerctld/config.yaml").GetString()!, "config.yaml");
        Assert.False(config.ManageSubIds);
        Assert.Equal((1073741824L, 805306368L), (config.IdPool.Start, config.IdPool.Count));
        Assert.True(config.IdPool.Start > 600100000 && config.IdPool.Start % 65536 == 0 && config.IdPool.Count % 65536 == 0
            && config.IdPool.Start + config.IdPool.Count <= 0x7000_0000);
        foreach (var (ranges, start) in new[] { ("subUidRanges", "startUid"), ("subGidRanges", "startGid") })
        {
            var range = (await EvalAsync(example, ranges, release)).EnumerateArray().Single();
            Assert.Equal((config.IdPool.Start, config.IdPool.Count), (range.GetProperty(start).GetInt64(), range.GetProperty("count").GetInt64()));
        }
        Assert.Equal(["alice"], (await EvalAsync(example, "admins", release)).EnumerateArray().Select(a => a.GetString()));
    }

    [Theory]
    [InlineData("24.11")]
    [InlineData("20.09")]
    public async Task Metrics_run_the_packaged_timer_into_the_directory_node_exporter_reads_and_are_off_by_default(string release)
    {
        var off = await EvalAsync(Host(""), "metrics", release);
        Assert.Equal(JsonValueKind.Null, off.GetProperty("timer").ValueKind);
        Assert.Equal(JsonValueKind.Null, off.GetProperty("service").ValueKind);
        Assert.Equal(0, off.GetProperty("tmpfiles").GetArrayLength());

        var on = await EvalAsync(Host("""metrics = { enable = true; directory = "/srv/textfile"; interval = "1min"; };"""), "metrics", release);
        var timer = on.GetProperty("timer");
        Assert.Equal(["timers.target"], timer.GetProperty("wantedBy").EnumerateArray().Select(t => t.GetString()));
        // A drop-in on the packaged timer: its 15 s cleared, the interval set.
        Assert.Equal(["", "1min"], timer.GetProperty("timerConfig").GetProperty("OnUnitActiveSec").EnumerateArray().Select(t => t.GetString()));
        var service = on.GetProperty("service");
        Assert.Equal("/srv/textfile", service.GetProperty("environment").GetProperty("TEXTFILE_DIR").GetString());
        Assert.Equal(["/srv/textfile"], service.GetProperty("serviceConfig").GetProperty("ReadWritePaths").EnumerateArray().Select(p => p.GetString()));
        Assert.Equal(["d /srv/textfile 0755 root root -"], on.GetProperty("tmpfiles").EnumerateArray().Select(r => r.GetString()));

        // The README's example points node_exporter where the timer writes.
        var example = await EvalAsync(ReadmeExample(), "metrics", release);
        string directory = example.GetProperty("service").GetProperty("environment").GetProperty("TEXTFILE_DIR").GetString()!;
        Assert.Equal(["--collector.textfile.directory=" + directory], example.GetProperty("nodeExporterFlags").EnumerateArray().Select(f => f.GetString()));

        var relative = await EvalAsync(Host("""metrics = { enable = true; directory = "textfile"; };"""), "failedAssertions", release);
        Assert.Equal(["services.containerctld.metrics.directory must be an absolute path, not \"textfile\""],
            relative.EnumerateArray().Select(m => m.GetString()));
    }

    [Fact]
    public async Task A_changed_container_reloads_the_daemon_a_changed_config_restarts_it_and_no_change_touches_nothing()
    {
        static string Containers(string web, string extra = "", string settings = "") =>
            Host($$"""settings = { {{settings}} }; containers.web = { config = { ... }: { services.nginx.enable = {{web}}; }; }; {{extra}}""");
        async Task<(string Restart, string Reload)> TriggersAsync(string configuration)
        {
            var unit = await EvalAsync(configuration, "unit");
            return (unit.GetProperty("restartTriggers").GetRawText(), unit.GetProperty("reloadTriggers").GetRawText());
        }

        var before = await TriggersAsync(Containers("true"));
        Assert.Equal(before, await TriggersAsync(Containers("true")));                  // nothing changed: the same unit

        var changed = await TriggersAsync(Containers("false"));                         // web's system changed
        Assert.Equal(before.Restart, changed.Restart);
        Assert.NotEqual(before.Reload, changed.Reload);

        var added = await TriggersAsync(Containers("true", """containers.db.path = "/nix/store/0123456789abcdfghijklmnpqrsvwxyz-db";"""));
        Assert.Equal(before.Restart, added.Restart);
        Assert.NotEqual(before.Reload, added.Reload);

        var removed = await TriggersAsync(Host("containers = { };"));
        Assert.Equal(before.Restart, removed.Restart);
        Assert.NotEqual(before.Reload, removed.Reload);

        var reconfigured = await TriggersAsync(Containers("true", settings: "pruneDeclarative = true;"));
        Assert.NotEqual(before.Restart, reconfigured.Restart);                          // config.yaml is read at start only

        // A NixOS without reloadTriggers (2020-07): a changed definition restarts the daemon instead,
        // which applies it at start (containers keep running).
        var legacy = await EvalAsync(Containers("true"), "unit", "20.09");
        Assert.Equal(JsonValueKind.Null, legacy.GetProperty("reloadTriggers").ValueKind);
        var sources = await EvalAsync(Containers("true"), "etcSources", "20.09");
        Assert.Equal([sources.GetProperty("containerctld/config.yaml").GetString(), sources.GetProperty("containerctld/containers/web.yaml").GetString()],
            legacy.GetProperty("restartTriggers").EnumerateArray().Select(t => t.GetString()));
    }

    [Theory]
    [InlineData("""containers.Web_1.config = { ... }: { };""",
        "containers.Web_1: containerctld does not take the name 'Web_1': use a lower-case letter, then up to 30 lower-case letters, digits and '-' (^[a-z][a-z0-9-]{0,30}$), e.g. 'web-1'")]
    [InlineData("""containers.web = { config = { ... }: { }; idmap.size = 1000; };""",
        "containers.web.idmap.size 1000 is not a multiple of 65536: use 65536")]
    [InlineData("""containers.web = { config = { ... }: { }; stopTimeout = "forever"; };""",
        "containers.web.stopTimeout \"forever\" is not a duration containerctld takes")]
    [InlineData("""containers.web.path = "/srv/system";""",
        "containers.web.path '/srv/system' is not in the Nix store")]
    [InlineData("""containers.web = { config = { ... }: { }; network.mode = "veth"; };""",
        "containers.web.network.mode is \"veth\" but the link has no addresses: set network.hostAddress and network.localAddress")]
    [InlineData("""containers.web = { config = { ... }: { }; path = "/nix/store/0123456789abcdfghijklmnpqrsvwxyz-sys"; };""",
        "containers.web: set either `config` (a NixOS module) or `path` (a prebuilt system), not both")]
    [InlineData("""containers.web = { };""",
        "containers.web: set `config` (a NixOS module) or `path` (a prebuilt system with ./init)")]
    [InlineData("""containers.web = { config = { ... }: { }; network = { mode = "veth"; hostAddress = "10.231.0.1/30"; }; };""",
        "containers.web.network: hostAddress and localAddress (and hostAddress6 and localAddress6) go together")]
    [InlineData("""containers.web = { config = { ... }: { }; network.localAddress = "10.231.0.2/30"; };""",
        "containers.web.network: addresses, bridge and forwardPorts need network.mode = \"veth\"")]
    [InlineData("""containers.web = { config = { ... }: { }; limits.cpus = 0.005; };""",
        "containers.web.limits.cpus must be at least 0.01 and at most 1024")]
    [InlineData("""containers.web = { config = { ... }: { }; limits.cpus = 2048; };""",
        "containers.web.limits.cpus must be at least 0.01 and at most 1024")]
    [InlineData("""containers.web = { config = { ... }: { }; limits.memory = "1M"; };""",
        "containers.web.limits.memory \"1M\" is below the minimum of 4M")]
    [InlineData("""settings.idPool = { base = 100000; size = 1000000000; };""",
        "services.containerctld.settings.idPool ({\"base\":100000,\"size\":1000000000}) disagrees with services.containerctld.idPool ({\"base\":1073741824,\"size\":805306368}): set only services.containerctld.idPool")]
    [InlineData("""substituters = [ "file:///srv/nix-cache" ];""",
        "services.containerctld.substituters need services.containerctld.trustedPublicKeys")]
    [InlineData("""settings.manageSubIds = true;""",
        "services.containerctld.settings.manageSubIds must stay false on NixOS")]
    public async Task A_value_the_daemon_refuses_fails_the_evaluation_saying_what_to_change(string containerctld, string message)
    {
        var failed = (await EvalAsync(Host(containerctld), "failedAssertions")).EnumerateArray().Select(m => m.GetString()!).ToList();
        Assert.Contains(failed, m => m.Contains(message, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("24.11")]
    [InlineData("20.09")]
    public async Task A_name_nixos_container_has_too_fails_the_evaluation_they_would_share_a_profile(string release)
    {
        string both = $$"""
            { imports = [ {{Module}} ]; services.containerctld = { enable = true; containers.web.config = { ... }: { }; containers.db.config = { ... }: { }; };
              containers.web.config = { ... }: { }; }
            """;
        var failed = (await EvalAsync(both, "failedAssertions", release)).EnumerateArray().Select(m => m.GetString()!).ToList();
        Assert.Equal(["services.containerctld.containers.web and containers.web (nixos-container) would share the profile /nix/var/nix/profiles/per-container/web: rename one of them"], failed);

        string elsewhere = both.Replace("enable = true;", "enable = true; settings.profilesDir = \"/nix/var/nix/profiles/containerctld\";", StringComparison.Ordinal);
        Assert.Equal(0, (await EvalAsync(elsewhere, "failedAssertions", release)).GetArrayLength());
    }

    [Fact]
    public async Task Ephemeral_and_nix_daemon_reach_the_definition_the_daemon_reads()
    {
        string configuration = Host("""containers.web = { config = { ... }: { }; ephemeral = true; nix.daemon = true; };""");
        Assert.Equal(0, (await EvalAsync(configuration, "failedAssertions")).GetArrayLength());
        var etc = await EvalAsync(configuration, "etc");
        var definition = DefinitionParser.Parse(etc.GetProperty("containerctld/containers/web.yaml").GetString()!, "web.yaml", "web");
        Assert.True(definition.Ephemeral);
        Assert.True(definition.NixDaemon);

        var plain = DefinitionParser.Parse((await EvalAsync(Host("""containers.web = { config = { ... }: { }; };"""), "etc"))
            .GetProperty("containerctld/containers/web.yaml").GetString()!, "web.yaml", "web");
        Assert.False(plain.Ephemeral);
        Assert.False(plain.NixDaemon);
    }

    [Fact]
    public async Task The_pool_has_one_source_config_yaml_and_roots_subordinate_ids_follow_idPool()
    {
        string configuration = Host("""idPool = { base = 2000000000; size = 131072; }; settings.idPool = { base = 2000000000; size = 131072; };""");
        Assert.Equal(0, (await EvalAsync(configuration, "failedAssertions")).GetArrayLength()); // repeating the pool in settings is no disagreement
        var config = DaemonConfigParser.Parse((await EvalAsync(configuration, "etc")).GetProperty("containerctld/config.yaml").GetString()!, "config.yaml");
        Assert.Equal((2000000000L, 131072L), (config.IdPool.Start, config.IdPool.Count));
        var uids = (await EvalAsync(configuration, "subUidRanges")).EnumerateArray().Single();
        var gids = (await EvalAsync(configuration, "subGidRanges")).EnumerateArray().Single();
        Assert.Equal((2000000000L, 131072L), (uids.GetProperty("startUid").GetInt64(), uids.GetProperty("count").GetInt64()));
        Assert.Equal((2000000000L, 131072L), (gids.GetProperty("startGid").GetInt64(), gids.GetProperty("count").GetInt64()));
    }

    [Fact]
    public async Task Binary_caches_reach_config_yaml_as_the_daemon_reads_them()
    {
        const string key = "cache.example.org-1:M2jR2XiR9mdS2vLL5Tu0hT4jYZ3F6wGli0Zdiu1ZX60=";
        string configuration = Host($$"""substituters = [ "file:///srv/nix-cache" "https://cache.example.org" ]; trustedPublicKeys = [ "{{key}}" ];""");
        Assert.Equal(0, (await EvalAsync(configuration, "failedAssertions")).GetArrayLength());
        var config = DaemonConfigParser.Parse((await EvalAsync(configuration, "etc")).GetProperty("containerctld/config.yaml").GetString()!, "config.yaml");
        Assert.Equal(new BinaryCaches(["file:///srv/nix-cache", "https://cache.example.org"], [key]), config.BinaryCaches);
        var none = DaemonConfigParser.Parse((await EvalAsync(Host(""), "etc")).GetProperty("containerctld/config.yaml").GetString()!, "config.yaml");
        Assert.Equal(BinaryCaches.None, none.BinaryCaches);
    }
}
