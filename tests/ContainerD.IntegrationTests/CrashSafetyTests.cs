using ContainerD.Contract;
using ContainerD.Domain.Configuration;
using ContainerD.Domain.Operations;
using ContainerD.IntegrationTests.Harness;

namespace ContainerD.IntegrationTests;

/// <summary>
/// The daemon SIGKILLs itself before each step of each multi-step change, every row of
/// CrashSteps (CONTAINERCTLD_CRASH_AT=operation:step); the next start must finish or roll back,
/// as the row says, and the invariants must hold. A new row is a new case here.
/// </summary>
public sealed class CrashSafetyTests
{
    public static TheoryData<string> Steps(string operation)
    {
        var data = new TheoryData<string>();
        foreach (var step in CrashSteps.Of(operation))
        {
            data.Add(step.Name);
        }
        return data;
    }

    public static TheoryData<string, string> ProfileSteps()
    {
        var data = new TheoryData<string, string>();
        foreach (var step in CrashSteps.Of("update").Concat(CrashSteps.Of("rollback")))
        {
            data.Add(step.Operation, step.Name);
        }
        return data;
    }

    [Fact]
    public void Every_operation_with_crash_steps_is_crashed_here()
    {
        Assert.Equal(["activate", "create", "destroy", "import", "reset", "restart", "restore", "rollback", "snapshot", "start", "update"], CrashSteps.All.Select(s => s.Operation).Distinct().Order());
    }

    private static Dictionary<string, string> CrashAt(CrashStep step) => new() { ["CONTAINERCTLD_CRASH_AT"] = step.Id };

    /// <param name="whileDown">What happens to the host between the crash and the next start.</param>
    private static async Task CrashAndRestartAsync(DaemonUnderTest daemon, CrashStep step, Func<ContainerDClient, Task<string>> change, Func<Task>? whileDown = null)
    {
        await daemon.KillAsync();
        await daemon.StartProcessAsync(CrashAt(step));
        using (var client = await daemon.ConnectAsync())
        {
            try
            {
                await change(client);
            }
            catch (Tmds.DBus.Protocol.DBusConnectionClosedException)
            {
                // The daemon may die before it replies.
            }
            catch (Tmds.DBus.Protocol.DBusErrorReplyException)
            {
                // …or the bus may report that it vanished.
            }
        }
        int exitCode = await daemon.WaitForExitAsync(TimeSpan.FromSeconds(60));
        Assert.True(exitCode is 137 or -1, $"the daemon exited with {exitCode} instead of being killed");
        Assert.Contains($"fault injection: killing myself before {step.Operation} step {step.Name}", daemon.Output);
        if (whileDown is not null)
        {
            await whileDown();
        }
        await daemon.StartProcessAsync();
    }

    [Theory]
    [MemberData(nameof(Steps), "create")]
    public async Task A_crash_during_create_is_rolled_back(string step)
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        await CrashAndRestartAsync(daemon, CrashSteps.Find($"create:{step}")!, c => c.CreateContainerAsync("crashy", DaemonUnderTest.NixDefinition("crashy")));
        using var client = await daemon.ConnectAsync();
        await Invariants.AssertHoldAsync(daemon, client);
        Assert.Empty(await client.ListContainersAsync());
        // Name and range are free again.
        Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync("crashy", DaemonUnderTest.NixDefinition("crashy")))).Succeeded);
        await Invariants.AssertHoldAsync(daemon, client);
        Assert.Equal((uint)DaemonConfig.DefaultIdPool.Start, (await client.ListContainersAsync())[0].UidBase);
    }

    /// <summary>From a prebuilt system nix-env starts before state.json: a crash at any step leaves nothing, the profile included.</summary>
    [Theory]
    [MemberData(nameof(Steps), "create")]
    public async Task A_crash_during_a_create_from_a_prebuilt_system_is_rolled_back(string step)
    {
        string system = await Systems.BuildAsync("crashy-prebuilt");
        string yaml = $"system: {{ path: {system} }}\n";
        await using var daemon = await DaemonUnderTest.StartAsync();
        await CrashAndRestartAsync(daemon, CrashSteps.Find($"create:{step}")!, c => c.CreateContainerAsync("crashy", yaml));
        using var client = await daemon.ConnectAsync();
        await Invariants.AssertHoldAsync(daemon, client);
        Assert.Empty(await client.ListContainersAsync());
        Assert.False(Directory.Exists(Path.Combine(daemon.ProfilesDir, "crashy")), "the crashed create's profile is left");
        var created = await client.RunJobAsync(c => c.CreateContainerAsync("crashy", yaml));
        Assert.True(created.Succeeded, created.Message);
        await Invariants.AssertHoldAsync(daemon, client);
        Assert.Equal(1u, (await client.ListContainersAsync())[0].Generation);
    }

    [Theory]
    [MemberData(nameof(Steps), "destroy")]
    public async Task A_crash_during_destroy_is_finished_or_leaves_the_container_whole(string name)
    {
        var step = CrashSteps.Find($"destroy:{name}")!;
        await using var daemon = await DaemonUnderTest.StartAsync();
        using (var client = await daemon.ConnectAsync())
        {
            Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync("doomed", DaemonUnderTest.NixDefinition("doomed")))).Succeeded);
            Assert.True((await client.RunJobAsync(c => c.StartContainerAsync("doomed"))).Succeeded);
        }
        await CrashAndRestartAsync(daemon, step, c => c.DestroyContainerAsync("doomed"));
        using var after = await daemon.ConnectAsync();
        await Invariants.AssertHoldAsync(daemon, after);
        // A crash before the intent is persisted leaves the container; after it, recovery finishes the destroy.
        Assert.Equal(step.Outcome == CrashOutcome.Untouched ? 1 : 0, (await after.ListContainersAsync()).Length);
    }

    [Theory]
    [MemberData(nameof(ProfileSteps))]
    public async Task A_crash_during_update_or_rollback_leaves_state_and_profile_in_agreement(string operation, string step)
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        using (var client = await daemon.ConnectAsync())
        {
            Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync("upd", DaemonUnderTest.NixDefinition("upd", "1")))).Succeeded);
            if (operation == "rollback")
            {
                Assert.True((await client.RunJobAsync(c => c.UpdateContainerAsync("upd", DaemonUnderTest.NixDefinition("upd", "2")))).Succeeded);
            }
        }
        await CrashAndRestartAsync(daemon, CrashSteps.Find($"{operation}:{step}")!, c => operation == "update"
            ? c.UpdateContainerAsync("upd", DaemonUnderTest.NixDefinition("upd", "2"))
            : c.RollbackContainerAsync("upd", 0));
        using var after = await daemon.ConnectAsync();
        await Invariants.AssertHoldAsync(daemon, after);
        var row = Assert.Single(await after.ListContainersAsync());
        var properties = await after.GetAllPropertiesAsync(row.Path, Names.ContainerInterface);
        // Whatever generation won, the system path and the profile agree (variant N is generation N here);
        // an update's definition follows its generation (a rollback keeps the latest definition).
        Assert.EndsWith($"-busybox-system-upd-{row.Generation}", properties["SystemPath"].GetString());
        if (operation == "update")
        {
            Assert.Contains($"variant: \"{row.Generation}\"", properties["Definition"].GetString());
        }
    }

    public static TheoryData<string, string> RootfsSteps()
    {
        var data = new TheoryData<string, string>();
        foreach (var step in CrashSteps.Of("snapshot").Concat(CrashSteps.Of("restore")).Concat(CrashSteps.Of("reset")))
        {
            data.Add(step.Operation, step.Name);
        }
        return data;
    }

    /// <summary>
    /// A running container with a marker file and a snapshot "kept" of generation 1, then changed (the
    /// marker says "changed", generation 2); the crash comes in a snapshot "next", a restore of "kept"
    /// or a reset. Afterwards the root is exactly what the row's outcome says, the container thawed,
    /// and no partial snapshot, rootfs.new or intent is left.
    /// </summary>
    [Theory]
    [MemberData(nameof(RootfsSteps))]
    public async Task A_crash_during_snapshot_restore_or_reset_leaves_a_whole_root(string operation, string name)
    {
        var step = CrashSteps.Find($"{operation}:{name}")!;
        await using var daemon = await DaemonUnderTest.StartAsync();
        string stateDir = Path.Combine(daemon.StateDir, "containers", "rooty");
        string marker = Path.Combine(stateDir, "rootfs", "root", "marker");
        using (var client = await daemon.ConnectAsync())
        {
            Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync("rooty", DaemonUnderTest.NixDefinition("rooty", "1")))).Succeeded);
            Assert.True((await client.RunJobAsync(c => c.StartContainerAsync("rooty"))).Succeeded);
            string path = await client.GetContainerAsync("rooty");
            Assert.Equal(0, (await client.RunCommandAsync(path, ["sh", "-c", "echo kept > /root/marker"], new Dictionary<string, string>())).ExitCode);
            Assert.True((await client.RunJobAsync(c => c.SnapshotContainerAsync("rooty", "kept"))).Succeeded);
            Assert.Equal(0, (await client.RunCommandAsync(path, ["sh", "-c", "echo changed > /root/marker"], new Dictionary<string, string>())).ExitCode);
            Assert.True((await client.RunJobAsync(c => c.UpdateContainerAsync("rooty", DaemonUnderTest.NixDefinition("rooty", "2")))).Succeeded);
        }
        await CrashAndRestartAsync(daemon, step, c => operation switch
        {
            "snapshot" => c.SnapshotContainerAsync("rooty", "next"),
            "restore" => c.RestoreSnapshotAsync("rooty", "kept"),
            _ => c.ResetContainerAsync("rooty"),
        });
        using var after = await daemon.ConnectAsync();
        await Invariants.AssertHoldAsync(daemon, after);
        var row = Assert.Single(await after.ListContainersAsync());
        Assert.Equal(["kept"], (await after.ListSnapshotsAsync("rooty")).Select(s => s.Name));
        Assert.False(Directory.Exists(Path.Combine(stateDir, "rootfs.new")));
        Assert.False(File.Exists(Path.Combine(stateDir, "rootfs-swap")));
        Assert.False(File.Exists(Path.Combine(stateDir, "frozen-for-snapshot")));
        string? root = File.Exists(marker) ? File.ReadAllText(marker).Trim() : null;
        switch (operation, step.Outcome)
        {
            case (_, CrashOutcome.Untouched):
                Assert.Equal("changed", root);
                Assert.Equal(2u, row.Generation);
                break;
            case ("restore", CrashOutcome.Finished):
                Assert.Equal("kept", root);
                Assert.EndsWith("-busybox-system-rooty-1", (await after.GetAllPropertiesAsync(row.Path, Names.ContainerInterface))["SystemPath"].GetString());
                break;
            case ("reset", CrashOutcome.Finished):
                Assert.Null(root);
                Assert.True(Directory.Exists(Path.Combine(stateDir, "rootfs", "root")), "the skeleton");
                break;
            default:
                Assert.Fail($"no expectation for {step}");
                break;
        }
        // Whatever it went through, it runs again, as it did before, and answers (a container left
        // frozen would hang here): a restore or reset that stopped it, the next daemon start starts.
        await Eventually.TrueAsync(async () => (await after.ListJobsAsync()).Length == 0, "the jobs of the daemon's start");
        Assert.Equal("running", Assert.Single(await after.ListContainersAsync()).State);
        Assert.Equal(0, (await after.RunCommandAsync(row.Path, ["true"], new Dictionary<string, string>())).ExitCode);
    }

    [Theory]
    [MemberData(nameof(Steps), "import")]
    public async Task A_crash_during_import_is_rolled_back(string step)
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        string archive = Path.Combine(daemon.Dir, "orig.ctdx");
        using (var client = await daemon.ConnectAsync())
        {
            Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync("orig", DaemonUnderTest.NixDefinition("orig")))).Succeeded);
            var exported = await daemon.CliAsync("export", "orig", archive);
            Assert.True(exported.ExitCode == 0, exported.ToString());
        }
        await CrashAndRestartAsync(daemon, CrashSteps.Find($"import:{step}")!, c => c.ImportContainerAsync(File.OpenHandle(archive), "twin"));
        using var after = await daemon.ConnectAsync();
        await Invariants.AssertHoldAsync(daemon, after);
        Assert.Equal(["orig"], (await after.ListContainersAsync()).Select(r => r.Name));
        Assert.False(Directory.Exists(Path.Combine(daemon.StateDir, "containers", "twin")));
        // Name and range are free again.
        Assert.True((await after.RunJobAsync(c => c.ImportContainerAsync(File.OpenHandle(archive), "twin"))).Succeeded);
        var rows = (await after.ListContainersAsync()).ToDictionary(r => r.Name);
        Assert.Equal(rows["orig"].UidBase + rows["orig"].UidSize, rows["twin"].UidBase);
        await Invariants.AssertHoldAsync(daemon, after);
    }

    [Fact]
    public async Task A_crash_before_an_update_records_its_generation_in_a_running_container_is_activated_at_the_next_start()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        using (var client = await daemon.ConnectAsync())
        {
            Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync("live", DaemonUnderTest.NixDefinition("live", "1")))).Succeeded);
            Assert.True((await client.RunJobAsync(c => c.StartContainerAsync("live"))).Succeeded);
        }
        // nix-env has made generation 2 current; the daemon dies before it records or activates it.
        await CrashAndRestartAsync(daemon, CrashSteps.UpdateRecordGeneration, c => c.UpdateContainerAsync("live", DaemonUnderTest.NixDefinition("live", "2")));

        // The next start finishes the change: generation 2 is recorded and switched to inside.
        await Eventually.TrueAsync(async () => (await daemon.CliAsync("run", "live", "--", "cat", "/var/lib/activation/log")).Stdout.Contains("-busybox-system-live-2"),
            "the activation of generation 2 inside", TimeSpan.FromSeconds(60));
        await daemon.AssertLoggedAsync("committed before the daemon stopped but never activated");
        using var after = await daemon.ConnectAsync();
        await Eventually.TrueAsync(async () => (await after.ListJobsAsync()).Length == 0, "the activation job's end");
        Assert.Equal(2u, Assert.Single(await after.ListContainersAsync()).Generation);
        await Invariants.AssertHoldAsync(daemon, after);
    }

    [Fact]
    public async Task A_crash_between_the_stop_and_the_start_of_a_restart_activation_boots_the_container_again_on_the_new_generation()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        using (var client = await daemon.ConnectAsync())
        {
            Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync("again", DaemonUnderTest.NixDefinition("again", "1", extra: "activation: restart")))).Succeeded);
            Assert.True((await client.RunJobAsync(c => c.StartContainerAsync("again"))).Succeeded);
        }
        // The update's restart has stopped the running container; the daemon dies before it starts it.
        await CrashAndRestartAsync(daemon, CrashSteps.ActivateStart, c => c.UpdateContainerAsync("again", DaemonUnderTest.NixDefinition("again", "2", extra: "activation: restart")));

        // It ran before the update: the next start finishes the restart, on generation 2.
        using var after = await daemon.ConnectAsync();
        await Eventually.TrueAsync(async () => (await after.ListJobsAsync()).Length == 0, "the jobs of the daemon's start");
        var row = Assert.Single(await after.ListContainersAsync());
        Assert.Equal("running", row.State);
        Assert.Equal(2u, row.Generation);
        // Its init is generation 2's: it said so on the console when it came up.
        var console = await daemon.CliAsync("logs", "again");
        Assert.Contains("init: system again variant 2 up", console.Stdout);
        await Invariants.AssertHoldAsync(daemon, after);
    }

    [Fact]
    public async Task A_crash_between_the_stop_and_the_start_of_a_restart_starts_the_container_at_the_next_daemon_start()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        using (var client = await daemon.ConnectAsync())
        {
            Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync("twice", DaemonUnderTest.NixDefinition("twice")))).Succeeded);
            Assert.True((await client.RunJobAsync(c => c.StartContainerAsync("twice"))).Succeeded);
        }
        await CrashAndRestartAsync(daemon, CrashSteps.RestartStart, c => c.RestartContainerAsync("twice"));

        using var after = await daemon.ConnectAsync();
        await Eventually.TrueAsync(async () => (await after.ListJobsAsync()).Length == 0, "the jobs of the daemon's start");
        Assert.Equal("running", Assert.Single(await after.ListContainersAsync()).State);
        await daemon.AssertLoggedAsync("a change that restarts it had stopped it when the daemon stopped");
        await Invariants.AssertHoldAsync(daemon, after);

        // Pending no more: a later daemon start leaves the container as it is.
        Assert.DoesNotContain("restartPending\": true", await File.ReadAllTextAsync(Path.Combine(daemon.StateDir, "containers", "twice", "state.json")));
    }

    /// <summary>
    /// lxc-start has booted the container, and the daemon dies before it gives the host end its
    /// address and loads the port forwards: the next start finds the container running and makes
    /// them, rather than keeping a running container its definition's network never reaches.
    /// </summary>
    [Fact]
    public async Task A_crash_between_lxc_start_and_the_network_gives_the_running_container_its_network_at_the_next_start()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        string network = $"""
            network:
              mode: veth
              hostAddress: 10.231.9.1/30
              localAddress: 10.231.9.2/30
              forwardPorts: [ {"{"} hostPort: {23000 + Random.Shared.Next(1000)}, containerPort: 8080 {"}"} ]
            """;
        using (var client = await daemon.ConnectAsync())
        {
            Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync("wired", DaemonUnderTest.NixDefinition("wired", extra: network)))).Succeeded);
        }
        await CrashAndRestartAsync(daemon, CrashSteps.StartNetwork, c => c.StartContainerAsync("wired"));

        using var after = await daemon.ConnectAsync();
        Assert.Equal("running", Assert.Single(await after.ListContainersAsync()).State);
        Assert.Contains("inet 10.231.9.1/30", (await Programs.RunChecked("ip", "-4", "addr", "show", "dev", "ve-wired")));
        Assert.Equal(0, (await Programs.Run("nft", "list", "table", "ip", "containerctld-wired")).ExitCode);
        await Invariants.AssertHoldAsync(daemon, after);
        // The intent is done with: a stop takes the forwards with it as after any start.
        Assert.True((await after.RunJobAsync(c => c.StopContainerAsync("wired", false))).Succeeded);
        Assert.NotEqual(0, (await Programs.Run("nft", "list", "table", "ip", "containerctld-wired")).ExitCode);
    }

    [Fact]
    public async Task An_interrupted_destroy_kills_its_container_instead_of_asking_an_init_that_ignores_SIGPWR()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        string shared = Path.Combine(daemon.Dir, "shared");
        string yaml = DaemonUnderTest.NixDefinition("stubborn", args: new Dictionary<string, string> { ["powerOffLog"] = "/shared/sigpwr" },
            extra: $"bindMounts: [ {{ host: {shared}, container: /shared, readOnly: false, create: true }} ]");
        using (var client = await daemon.ConnectAsync())
        {
            Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync("stubborn", yaml))).Succeeded);
            Assert.True((await client.RunJobAsync(c => c.StartContainerAsync("stubborn"))).Succeeded);
        }
        // Destroy's intent is persisted, then the daemon dies before it stops the container.
        await CrashAndRestartAsync(daemon, CrashSteps.DestroyStop, c => c.DestroyContainerAsync("stubborn"));

        using var after = await daemon.ConnectAsync();
        Assert.Empty(await after.ListContainersAsync());
        await Invariants.AssertHoldAsync(daemon, after);
        // Killed at once: its init was never sent the SIGPWR it would have sat out for the stop timeout.
        Assert.False(File.Exists(Path.Combine(shared, "sigpwr")), "recovery asked the container to power off and waited");
        await daemon.AssertLoggedAsync("killing container stubborn: its removal was already under way");
    }
    /// <summary>
    /// systemctl stop (SIGTERM) while an export holds a running container frozen: the daemon does not
    /// wait for its jobs, and a start that would thaw it may never come. The export writes into a pipe
    /// nobody reads, so it stays in its frozen section until the daemon goes.
    /// </summary>
    [Fact]
    public async Task A_daemon_stopped_while_an_export_holds_a_container_frozen_thaws_it_before_it_exits()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        using var unread = new System.IO.Pipes.AnonymousPipeServerStream(System.IO.Pipes.PipeDirection.In);
        using (var client = await daemon.ConnectAsync())
        {
            Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync("icy", DaemonUnderTest.NixDefinition("icy")))).Succeeded);
            Assert.True((await client.RunJobAsync(c => c.StartContainerAsync("icy"))).Succeeded);
            // More root than a pipe buffers: the export blocks inside its frozen section.
            var big = await daemon.CliAsync("run", "icy", "--", "dd", "if=/dev/zero", "of=/root/big", "bs=1M", "count=2");
            Assert.True(big.ExitCode == 0, big.ToString());
            var frozen = new TaskCompletionSource();
            await client.WatchJobsAsync((_, line) => { if (line.Contains("freezing icy", StringComparison.Ordinal)) { frozen.TrySetResult(); } });
            await client.ExportContainerAsync("icy", unread.ClientSafePipeHandle);
            await frozen.Task.WaitAsync(TimeSpan.FromSeconds(60));
        }
        await Eventually.TrueAsync(async () => await LxcStateAsync(daemon, "icy") == "FROZEN", "the export's freeze");

        await daemon.StopAsync();

        Assert.Equal("RUNNING", await LxcStateAsync(daemon, "icy"));
        await daemon.AssertLoggedAsync("thawing container icy before the daemon exits");
    }

    /// <summary>
    /// A snapshot's freeze cut short by a crash, and at the next start the container cannot be loaded
    /// (its definition broken meanwhile): skipped, as any such container — but thawed first, not
    /// left frozen while the daemon serves the others.
    /// </summary>
    [Fact]
    public async Task A_container_a_crashed_snapshot_froze_is_thawed_also_when_the_next_start_cannot_load_it()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        using (var client = await daemon.ConnectAsync())
        {
            Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync("brittle", DaemonUnderTest.NixDefinition("brittle")))).Succeeded);
            Assert.True((await client.RunJobAsync(c => c.StartContainerAsync("brittle"))).Succeeded);
        }
        await CrashAndRestartAsync(daemon, CrashSteps.SnapshotCopyRootfs, c => c.SnapshotContainerAsync("brittle", "cut"), async () =>
        {
            Assert.Equal("FROZEN", await LxcStateAsync(daemon, "brittle"));
            await File.WriteAllTextAsync(Path.Combine(daemon.StateDir, "containers", "brittle", "container.yaml"), "system: [ unclosed\n");
        });

        await daemon.AssertLoggedAsync("container brittle could not be loaded and is skipped");
        Assert.Equal("RUNNING", await LxcStateAsync(daemon, "brittle"));
    }

    /// <summary>
    /// A freeze that fails half-way — lxc-freeze gives up while the freezer has begun (cgroup v1's
    /// does on a task it cannot stop) — is thawed: the snapshot fails, and the container runs on.
    /// lxc-freeze here freezes for real, then reports that failure.
    /// </summary>
    [Fact]
    public async Task A_freeze_that_fails_half_way_leaves_the_container_thawed()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        string tools = Path.Combine(daemon.Dir, "tools");
        Directory.CreateDirectory(tools);
        string freeze = Path.Combine(tools, "lxc-freeze");
        await File.WriteAllTextAsync(freeze, "#!/bin/sh\n/usr/bin/lxc-freeze \"$@\"\necho 'lxc-freeze: timed out waiting for the freezer' >&2\nexit 1\n");
        File.SetUnixFileMode(freeze, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        await daemon.KillAsync();
        await daemon.StartProcessAsync(new Dictionary<string, string> { ["PATH"] = tools + ":" + Environment.GetEnvironmentVariable("PATH") });
        using var client = await daemon.ConnectAsync();
        Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync("slush", DaemonUnderTest.NixDefinition("slush")))).Succeeded);
        Assert.True((await client.RunJobAsync(c => c.StartContainerAsync("slush"))).Succeeded);

        var snapshot = await client.RunJobAsync(c => c.SnapshotContainerAsync("slush", "cold"));

        Assert.False(snapshot.Succeeded);
        Assert.Contains("cannot freeze", snapshot.Message);
        Assert.Equal("RUNNING", await LxcStateAsync(daemon, "slush"));
        Assert.False(File.Exists(Path.Combine(daemon.StateDir, "containers", "slush", "frozen-for-snapshot")));
        Assert.Empty(await client.ListSnapshotsAsync("slush"));
    }

    private static async Task<string> LxcStateAsync(DaemonUnderTest daemon, string name) =>
        (await Programs.RunChecked("lxc-info", "-P", daemon.LxcPath, "-n", name, "-s", "-H")).Trim();
}
