using System.Globalization;
using ContainerD.Contract;
using ContainerD.Domain.Configuration;
using ContainerD.IntegrationTests.Harness;

namespace ContainerD.IntegrationTests;

/// <summary>Limits in the container's real cgroup, bind mounts, and the console log's cap.</summary>
public sealed class ResourceTests
{
    [Fact]
    public async Task Memory_and_pids_limits_are_in_the_containers_cgroup_and_enforced()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        using var client = await daemon.ConnectAsync();
        const string limits = "limits: { memory: 64M, pids: 40 }\n";
        Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync("bounded", DaemonUnderTest.NixDefinition("bounded", extra: limits)))).Succeeded);
        var start = await client.RunJobAsync(c => c.StartContainerAsync("bounded"));
        Assert.True(start.Succeeded, start.Message);
        uint pid = (await client.ListContainersAsync()).Single().LeaderPid;

        string memory = ControllerDir(pid, "memory"), pids = ControllerDir(pid, "pids");
        Assert.Equal(64L << 20, long.Parse(await ReadCgroupAsync(memory, "memory.limit_in_bytes", "memory.max"), CultureInfo.InvariantCulture));
        Assert.Equal("40", await ReadCgroupAsync(pids, "pids.max", "pids.max"));

        // Memory: sort holds its whole input, a 200 MB line, in memory; in a 64 MB container it cannot.
        var hog = await daemon.CliAsync("run", "bounded", "--", "sh", "-c", "head -c 200000000 /dev/zero | sort >/dev/null && echo got-it");
        Assert.DoesNotContain("got-it", hog.Stdout + hog.Stderr);
        Assert.NotEqual("0", await ReadCgroupAsync(memory, "memory.failcnt", "memory.events"));
        Assert.True(long.Parse(await ReadCgroupAsync(memory, "memory.max_usage_in_bytes", "memory.peak"), CultureInfo.InvariantCulture) <= 64L << 20);

        // A fork bomb inside stops at the limit; the host keeps forking.
        var bomb = await daemon.CliAsync("run", "bounded", "--", "sh", "-c",
            "i=0; while [ $i -lt 100 ]; do sleep 60 & i=$((i+1)); done >/dev/null 2>&1; echo tried $i");
        long current = long.Parse(await ReadCgroupAsync(pids, "pids.current", "pids.current"), CultureInfo.InvariantCulture);
        Assert.InRange(current, 1, 40);
        Assert.Matches(@"max [1-9]\d*", await ReadCgroupAsync(pids, "pids.events", "pids.events"));
        Assert.Equal(0, (await Programs.Run("true")).ExitCode);

        Assert.True((await client.RunJobAsync(c => c.StopContainerAsync("bounded", true))).Succeeded, bomb.ToString());
    }

    [Fact]
    public async Task A_container_without_limits_gets_the_default_pids_limit_and_a_definition_may_override_it()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        using var client = await daemon.ConnectAsync();
        Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync("plain", DaemonUnderTest.NixDefinition("plain")))).Succeeded);
        const string more = "limits: { pids: 100000, memory: 256M }\n";
        Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync("roomy", DaemonUnderTest.NixDefinition("roomy", extra: more)))).Succeeded);
        foreach (string name in new[] { "plain", "roomy" })
        {
            var start = await client.RunJobAsync(c => c.StartContainerAsync(name));
            Assert.True(start.Succeeded, start.Message);
        }
        var rows = await client.ListContainersAsync();
        uint plain = rows.Single(r => r.Name == "plain").LeaderPid, roomy = rows.Single(r => r.Name == "roomy").LeaderPid;

        Assert.Equal("16384", await ReadCgroupAsync(ControllerDir(plain, "pids"), "pids.max", "pids.max"));
        Assert.Equal("100000", await ReadCgroupAsync(ControllerDir(roomy, "pids"), "pids.max", "pids.max"));
        Assert.Equal(256L << 20, long.Parse(await ReadCgroupAsync(ControllerDir(roomy, "memory"), "memory.limit_in_bytes", "memory.max"), CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task The_daemons_default_limits_can_be_changed_in_its_config()
    {
        await using var daemon = await DaemonUnderTest.StartAsync("defaultLimits: { pids: 300 }");
        using var client = await daemon.ConnectAsync();
        Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync("tight", DaemonUnderTest.NixDefinition("tight")))).Succeeded);
        Assert.True((await client.RunJobAsync(c => c.StartContainerAsync("tight"))).Succeeded);
        uint pid = (await client.ListContainersAsync()).Single().LeaderPid;
        Assert.Equal("300", await ReadCgroupAsync(ControllerDir(pid, "pids"), "pids.max", "pids.max"));
    }

    [Fact]
    public async Task Bind_mounts_are_read_only_or_writable_and_created_when_asked()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        string ro = Path.Combine(daemon.Dir, "ro"), rw = Path.Combine(daemon.Dir, "rw"), made = Path.Combine(daemon.Dir, "made");
        Directory.CreateDirectory(ro);
        await File.WriteAllTextAsync(Path.Combine(ro, "hello"), "from the host\n");
        Directory.CreateDirectory(rw);
        await Programs.Run("chown", $"{DaemonConfig.DefaultIdPool.Start}:{DaemonConfig.DefaultIdPool.Start}", rw); // the container's root owns it, as the README says
        string mounts = $"""
            bindMounts:
              - {"{"} host: {ro}, container: /data/ro {"}"}
              - {"{"} host: {rw}, container: /data/rw, readOnly: false {"}"}
              - {"{"} host: {made}, container: /data/made, readOnly: false, create: true {"}"}
            """;
        using var client = await daemon.ConnectAsync();
        Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync("mounted", DaemonUnderTest.NixDefinition("mounted", extra: mounts)))).Succeeded);
        var start = await client.RunJobAsync(c => c.StartContainerAsync("mounted"));
        Assert.True(start.Succeeded, start.Message);

        var read = await daemon.CliAsync("run", "mounted", "--", "cat", "/data/ro/hello");
        Assert.Equal("from the host\n", read.Stdout);
        var writeRo = await daemon.CliAsync("run", "mounted", "--", "touch", "/data/ro/nope");
        Assert.NotEqual(0, writeRo.ExitCode);
        Assert.Contains("Read-only file system", writeRo.Stderr);
        Assert.False(File.Exists(Path.Combine(ro, "nope")));

        Assert.Equal(0, (await daemon.CliAsync("run", "mounted", "--", "sh", "-c", "echo inside > /data/rw/note")).ExitCode);
        Assert.Equal("inside\n", await File.ReadAllTextAsync(Path.Combine(rw, "note")));
        Assert.Equal(DaemonConfig.DefaultIdPool.Start, HostFacts.OwnerOf(Path.Combine(rw, "note"))); // container root is the pool's first uid

        Assert.True(Directory.Exists(made));
        Assert.Equal(DaemonConfig.DefaultIdPool.Start, HostFacts.OwnerOf(made));
        Assert.Equal(0, (await daemon.CliAsync("run", "mounted", "--", "touch", "/data/made/ok")).ExitCode);

        // A source that is missing without create: a named error before LXC runs.
        string missing = $"bindMounts: [ {{ host: {daemon.Dir}/absent, container: /absent }} ]\n";
        Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync("absent", DaemonUnderTest.NixDefinition("absent", extra: missing)))).Succeeded);
        var refused = await client.RunJobAsync(c => c.StartContainerAsync("absent"));
        Assert.False(refused.Succeeded);
        Assert.Contains("does not exist; create it, or set create: true", refused.Message);
    }

    [Fact]
    public async Task An_idmapped_bind_mount_shows_host_owners_inside_where_a_plain_one_shows_nobody()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        string shared = Path.Combine(daemon.Dir, "shared");
        Directory.CreateDirectory(shared);
        await File.WriteAllTextAsync(Path.Combine(shared, "owned-by-root"), "x"); // host uid 0
        string mounts = $"""
            bindMounts:
              - {"{"} host: {shared}, container: /plain {"}"}
              - {"{"} host: {shared}, container: /mapped, idmapped: true {"}"}
            """;
        using var client = await daemon.ConnectAsync();
        Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync("idm", DaemonUnderTest.NixDefinition("idm", extra: mounts)))).Succeeded);
        var start = await client.RunJobAsync(c => c.StartContainerAsync("idm"));
        Assert.True(start.Succeeded, start.Message);

        var owners = await daemon.CliAsync("run", "idm", "--", "stat", "-c", "%u", "/plain/owned-by-root", "/mapped/owned-by-root");
        Assert.True(owners.ExitCode == 0, owners.ToString());
        Assert.Equal("65534\n0\n", owners.Stdout); // nobody through the plain mount, root through the idmapped one
    }

    [Theory]
    [InlineData("/nix/store", "onto the store")]
    [InlineData("/nix/store/abc", "under the store")]
    [InlineData("/nix/var/nix/profiles", "onto the profiles")]
    [InlineData("/nix/var/nix/profiles/system", "under the profiles")]
    [InlineData("data", "relative")]
    [InlineData("/data/../etc", "with ..")]
    public async Task Bind_mounts_that_would_reach_the_store_or_escape_are_refused(string container, string why)
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        using var client = await daemon.ConnectAsync();
        var e = await Assert.ThrowsAsync<Tmds.DBus.Protocol.DBusErrorReplyException>(() => client.CreateContainerAsync("bad",
            DaemonUnderTest.NixDefinition("bad", extra: $"bindMounts: [ {{ host: /srv, container: {container} }} ]\n")));
        Assert.True(e.ErrorName == Names.Error("InvalidDefinition"), why);
        Assert.Empty(await client.ListContainersAsync());
        Assert.False(Directory.Exists(Path.Combine(daemon.StateDir, "containers", "bad")));
    }

    [Fact]
    public async Task The_console_log_records_what_init_prints_and_stays_capped()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        using var client = await daemon.ConnectAsync();
        Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync("chatty", DaemonUnderTest.NixDefinition("chatty")))).Succeeded);
        Assert.True((await client.RunJobAsync(c => c.StartContainerAsync("chatty"))).Succeeded);
        string log = Path.Combine(daemon.LxcPath, "chatty", "console.log");
        await Eventually.TrueAsync(() => File.Exists(log) && File.ReadAllText(log).Contains("init: system chatty"), "init's greeting in the console log");

        // 3 MB through the console: the log (1 MB, rotated once) keeps at most two files' worth.
        var flood = await daemon.CliAsync("run", "chatty", "--", "sh", "-c",
            "i=0; while [ $i -lt 3000 ]; do head -c 1000 /dev/zero | tr '\\0' x; echo; i=$((i+1)); done > /dev/console");
        Assert.True(flood.ExitCode == 0, flood.ToString());
        // The console is one stream: once a line written after the flood is in the log, so is the flood.
        Assert.True((await daemon.CliAsync("run", "chatty", "--", "sh", "-c", "echo flood-done > /dev/console")).ExitCode == 0);
        await Eventually.TrueAsync(() => File.ReadAllText(log).Contains("flood-done"), "the line after the flood in the console log");
        long total = new FileInfo(log).Length + (File.Exists(log + ".1") ? new FileInfo(log + ".1").Length : 0);
        Assert.InRange(total, 1, 2 * (1 << 20) + 64 * 1024);
    }

    /// <summary>The container init's cgroup directory for a controller, from the host's view of /proc/PID/cgroup.</summary>
    internal static string ControllerDir(uint pid, string controller)
    {
        foreach (string line in File.ReadLines($"/proc/{pid}/cgroup"))
        {
            string[] fields = line.Split(':', 3);
            if (fields[1].Split(',').Contains(controller))
            {
                return Path.Combine("/sys/fs/cgroup", controller) + fields[2];
            }
            if (fields[0] == "0" && File.Exists(Path.Combine("/sys/fs/cgroup/unified" + fields[2], "cgroup.controllers")))
            {
                // A v2 controller: the unified hierarchy, where this host mounts it.
                string unified = "/sys/fs/cgroup/unified" + fields[2];
                if (File.ReadAllText(Path.Combine(unified, "cgroup.controllers")).Split(' ').Contains(controller))
                {
                    return unified;
                }
            }
        }
        throw new InvalidOperationException($"no {controller} cgroup for pid {pid}");
    }

    /// <summary>Reads a cgroup file under its v1 or v2 name, whichever exists.</summary>
    internal static async Task<string> ReadCgroupAsync(string dir, string v1, string v2) =>
        (await File.ReadAllTextAsync(File.Exists(Path.Combine(dir, v1)) ? Path.Combine(dir, v1) : Path.Combine(dir, v2))).Trim();
}
