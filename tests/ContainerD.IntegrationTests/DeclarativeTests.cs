using ContainerD.Contract;
using ContainerD.IntegrationTests.Harness;
using Tmds.DBus.Protocol;

namespace ContainerD.IntegrationTests;

/// <summary>Containers declared as files (as the NixOS module writes them) follow their files at each daemon start.</summary>
public sealed class DeclarativeTests
{
    [Fact]
    public async Task A_declared_container_is_created_updated_kept_and_pruned_by_daemon_restarts()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        string file = Path.Combine(daemon.DefinitionsDir, "decl.yaml");
        await File.WriteAllTextAsync(file, DaemonUnderTest.NixDefinition("decl", "1", "autostart: true"));

        // Dropped in, then the daemon starts: created and, being autostart, running.
        await daemon.KillAsync();
        await daemon.StartProcessAsync();
        using (var client = await daemon.ConnectAsync())
        {
            await Eventually.TrueAsync(async () => (await client.ListContainersAsync()) is [{ State: "running", Generation: 1 }], "decl created and running", TimeSpan.FromSeconds(60));

            // An imperative create of a declared name is refused.
            var clash = await Assert.ThrowsAsync<DBusErrorReplyException>(() => client.CreateContainerAsync("decl", DaemonUnderTest.NixDefinition("decl")));
            Assert.Equal("io.containerctl.ContainerD1.Error.AlreadyExists", clash.ErrorName);
            Assert.Contains(file, clash.ErrorMessage);
            // …and so is an update by hand: the file is the truth.
            var byHand = await Assert.ThrowsAsync<DBusErrorReplyException>(() => client.UpdateContainerAsync("decl", DaemonUnderTest.NixDefinition("decl", "2")));
            Assert.Contains("change that file instead", byHand.ErrorMessage);
        }

        // The file changes; the next start applies it as a new generation.
        await File.WriteAllTextAsync(file, DaemonUnderTest.NixDefinition("decl", "2", "autostart: true"));
        await daemon.KillAsync();
        await daemon.StartProcessAsync();
        using (var client = await daemon.ConnectAsync())
        {
            await Eventually.TrueAsync(async () => (await client.ListContainersAsync()) is [{ Generation: 2 }] && (await client.ListJobsAsync()).Length == 0,
                "decl at generation 2", TimeSpan.FromSeconds(60));
            var row = (await client.ListContainersAsync())[0];
            Assert.EndsWith("-busybox-system-decl-2", (await client.GetAllPropertiesAsync(row.Path, Names.ContainerInterface))["SystemPath"].GetString());
        }

        // The file goes: the container stays (only a warning) …
        File.Delete(file);
        await daemon.KillAsync();
        await daemon.StartProcessAsync();
        using (var client = await daemon.ConnectAsync())
        {
            Assert.Single(await client.ListContainersAsync());
            await daemon.AssertLoggedAsync("container decl stays");
        }

        // … unless the config says pruneDeclarative: true.
        await File.AppendAllTextAsync(daemon.ConfigFile, "\npruneDeclarative: true\n");
        await daemon.KillAsync();
        await daemon.StartProcessAsync();
        using (var client = await daemon.ConnectAsync())
        {
            await Eventually.TrueAsync(async () => (await client.ListContainersAsync()).Length == 0, "decl pruned", TimeSpan.FromSeconds(30));
            await Invariants.AssertHoldAsync(daemon, client);
        }
    }

    /// <summary>systemctl reload: the unit's ExecReload sends SIGHUP (what the NixOS module triggers when a definition changes).</summary>
    private static async Task ReloadAsync(DaemonUnderTest daemon)
    {
        var kill = await Programs.Run("kill", "-HUP", daemon.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(kill.ExitCode == 0, kill.Stderr);
    }

    [Fact]
    public async Task A_reload_applies_changed_definitions_and_restarts_nothing_else()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        using var client = await daemon.ConnectAsync();
        int daemonPid = daemon.Pid;
        // An imperative container that runs throughout: no reload may touch it.
        var create = await client.RunJobAsync(c => c.CreateContainerAsync("bystander", DaemonUnderTest.NixDefinition("bystander")));
        Assert.True(create.Succeeded, create.Message);
        var start = await client.RunJobAsync(c => c.StartContainerAsync("bystander"));
        Assert.True(start.Succeeded, start.Message);
        uint bystanderPid = (await client.ListContainersAsync()).Single().LeaderPid;

        // A new file and a reload: created and, being autostart, started.
        string file = Path.Combine(daemon.DefinitionsDir, "decl.yaml");
        string variant = Guid.NewGuid().ToString("N")[..8];
        await File.WriteAllTextAsync(file, DaemonUnderTest.NixDefinition("decl", variant, "autostart: true"));
        await ReloadAsync(daemon);
        await Eventually.TrueAsync(async () => (await client.ListContainersAsync()).Any(c => c is { Name: "decl", State: "running", Generation: 1 })
            && (await client.ListJobsAsync()).Length == 0, "decl created and running", TimeSpan.FromSeconds(60));
        uint declPid = (await client.ListContainersAsync()).Single(c => c.Name == "decl").LeaderPid;

        // Nothing changed: a reload begins no job.
        await ReloadAsync(daemon);
        await Eventually.TrueAsync(() => daemon.Output.Contains("reloaded: 0 created, 0 updated, 0 destroyed, 1 unchanged", StringComparison.Ordinal),
            "the second reload", TimeSpan.FromSeconds(20));
        Assert.Empty(await client.ListJobsAsync());

        // A changed file: an update to generation 2, applied to the running container (activation auto).
        await File.WriteAllTextAsync(file, DaemonUnderTest.NixDefinition("decl", variant + "b", "autostart: true"));
        await ReloadAsync(daemon);
        await Eventually.TrueAsync(async () => (await client.ListContainersAsync()).Any(c => c is { Name: "decl", Generation: 2 })
            && (await client.ListJobsAsync()).Length == 0, "decl at generation 2", TimeSpan.FromSeconds(60));
        var decl = (await client.ListContainersAsync()).Single(c => c.Name == "decl");
        Assert.Equal(declPid, decl.LeaderPid); // switched, not restarted

        // The file goes: the container stays, with a warning.
        File.Delete(file);
        await ReloadAsync(daemon);
        await Eventually.TrueAsync(() => daemon.Output.Contains("container decl stays", StringComparison.Ordinal), "the warning", TimeSpan.FromSeconds(20));

        // The same daemon all along, and the bystander never restarted.
        Assert.Equal(daemonPid, daemon.Pid);
        var bystander = (await client.ListContainersAsync()).Single(c => c.Name == "bystander");
        Assert.Equal(("running", bystanderPid), (bystander.State, bystander.LeaderPid));
        Assert.Equal(2, (await client.ListContainersAsync()).Length);
        await Invariants.AssertHoldAsync(daemon, client);
    }

    [Fact]
    public async Task A_file_changed_while_its_container_is_busy_is_applied_when_the_job_ends()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        using var client = await daemon.ConnectAsync();
        string file = Path.Combine(daemon.DefinitionsDir, "slow.yaml");
        string variant = Guid.NewGuid().ToString("N")[..8];
        // The create builds for a few seconds; the file changes meanwhile and the daemon is reloaded.
        await File.WriteAllTextAsync(file, DaemonUnderTest.NixDefinition("slow", variant, args: new Dictionary<string, string> { ["buildDelay"] = "4" }));
        await ReloadAsync(daemon);
        await Eventually.TrueAsync(async () => (await client.ListJobsAsync()).Any(j => j is { Container: "slow", Operation: "create" }), "the create job", TimeSpan.FromSeconds(20));
        await File.WriteAllTextAsync(file, DaemonUnderTest.NixDefinition("slow", variant + "b"));
        await ReloadAsync(daemon);
        await Eventually.TrueAsync(() => daemon.Output.Contains("applying it when that job ends", StringComparison.Ordinal), "the deferral", TimeSpan.FromSeconds(20));

        await Eventually.TrueAsync(async () => (await client.ListContainersAsync()) is [{ Name: "slow", Generation: 2 }] && (await client.ListJobsAsync()).Length == 0,
            "slow at generation 2", TimeSpan.FromSeconds(90));
        var row = (await client.ListContainersAsync())[0];
        Assert.EndsWith($"-busybox-system-slow-{variant}b", (await client.GetAllPropertiesAsync(row.Path, Names.ContainerInterface))["SystemPath"].GetString());
    }
}
