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
}
