using ContainerD.Contract;
using ContainerD.Domain.Configuration;
using ContainerD.IntegrationTests.Harness;

namespace ContainerD.IntegrationTests;

/// <summary>
/// The daemon SIGKILLs itself before each step of each multi-step change
/// (CONTAINERCTLD_CRASH_AT=operation:step); the next start must finish or roll back, and the
/// invariants must hold.
/// </summary>
public sealed class CrashSafetyTests
{
    private static Dictionary<string, string> CrashAt(string operation, int step) => new() { ["CONTAINERCTLD_CRASH_AT"] = $"{operation}:{step}" };

    private static async Task CrashAndRestartAsync(DaemonUnderTest daemon, string operation, int step, Func<ContainerDClient, Task<string>> change)
    {
        await daemon.KillAsync();
        await daemon.StartProcessAsync(CrashAt(operation, step));
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
        Assert.Contains($"fault injection: killing myself before {operation} step {step}", daemon.Output);
        await daemon.StartProcessAsync();
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(7)]
    public async Task A_crash_during_create_is_rolled_back(int step)
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        await CrashAndRestartAsync(daemon, "create", step, c => c.CreateContainerAsync("crashy", DaemonUnderTest.NixDefinition("crashy")));
        using var client = await daemon.ConnectAsync();
        await Invariants.AssertHoldAsync(daemon, client);
        Assert.Empty(await client.ListContainersAsync());
        // Name and range are free again.
        Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync("crashy", DaemonUnderTest.NixDefinition("crashy")))).Succeeded);
        await Invariants.AssertHoldAsync(daemon, client);
        Assert.Equal((uint)DaemonConfig.DefaultIdPool.Start, (await client.ListContainersAsync())[0].UidBase);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public async Task A_crash_during_destroy_is_finished_or_leaves_the_container_whole(int step)
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        using (var client = await daemon.ConnectAsync())
        {
            Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync("doomed", DaemonUnderTest.NixDefinition("doomed")))).Succeeded);
            Assert.True((await client.RunJobAsync(c => c.StartContainerAsync("doomed"))).Succeeded);
        }
        await CrashAndRestartAsync(daemon, "destroy", step, c => c.DestroyContainerAsync("doomed"));
        using var after = await daemon.ConnectAsync();
        await Invariants.AssertHoldAsync(daemon, after);
        // Step 1 dies before the intent is persisted: the container stays; later steps finish the destroy.
        Assert.Equal(step == 1 ? 1 : 0, (await after.ListContainersAsync()).Length);
    }

    [Theory]
    [InlineData("update", 1)]
    [InlineData("update", 2)]
    [InlineData("update", 3)]
    [InlineData("rollback", 1)]
    [InlineData("rollback", 2)]
    public async Task A_crash_during_update_or_rollback_leaves_state_and_profile_in_agreement(string operation, int step)
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
        await CrashAndRestartAsync(daemon, operation, step, c => operation == "update"
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

    [Fact]
    public async Task A_crash_at_update_step_3_of_a_running_container_is_activated_at_the_next_start()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        using (var client = await daemon.ConnectAsync())
        {
            Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync("live", DaemonUnderTest.NixDefinition("live", "1")))).Succeeded);
            Assert.True((await client.RunJobAsync(c => c.StartContainerAsync("live"))).Succeeded);
        }
        // nix-env has made generation 2 current; the daemon dies before it records or activates it.
        await CrashAndRestartAsync(daemon, "update", 3, c => c.UpdateContainerAsync("live", DaemonUnderTest.NixDefinition("live", "2")));

        // The next start finishes the change: generation 2 is recorded and switched to inside.
        await Eventually.TrueAsync(async () => (await daemon.CliAsync("run", "live", "--", "cat", "/var/lib/activation/log")).Stdout.Contains("-busybox-system-live-2"),
            "the activation of generation 2 inside", TimeSpan.FromSeconds(60));
        Assert.Contains("committed before the daemon stopped but never activated", daemon.Output);
        using var after = await daemon.ConnectAsync();
        await Eventually.TrueAsync(async () => (await after.ListJobsAsync()).Length == 0, "the activation job's end");
        Assert.Equal(2u, Assert.Single(await after.ListContainersAsync()).Generation);
        await Invariants.AssertHoldAsync(daemon, after);
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
        await CrashAndRestartAsync(daemon, "destroy", 2, c => c.DestroyContainerAsync("stubborn"));

        using var after = await daemon.ConnectAsync();
        Assert.Empty(await after.ListContainersAsync());
        await Invariants.AssertHoldAsync(daemon, after);
        // Killed at once: its init was never sent the SIGPWR it would have sat out for the stop timeout.
        Assert.False(File.Exists(Path.Combine(shared, "sigpwr")), "recovery asked the container to power off and waited");
        Assert.Contains("killing container stubborn: its removal was already under way", daemon.Output);
    }
}
