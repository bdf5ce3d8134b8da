using System.Collections.Concurrent;
using ContainerD.Contract;
using ContainerD.IntegrationTests.Harness;
using Tmds.DBus.Protocol;

namespace ContainerD.IntegrationTests;

/// <summary>
/// When a container changes behind the daemon's back, State, LeaderPid and a PropertiesChanged
/// signal follow (from LXC's monitor events, not a polling loop). How fast is the benchmarks'
/// business (event latency in docs/PERFORMANCE.md), not a test's.
/// </summary>
public sealed class LiveStateTests
{
    [Fact]
    public async Task State_follows_an_init_that_exits_and_starts_and_stops_done_behind_the_daemons_back()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        using var client = await daemon.ConnectAsync();
        Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync("live", DaemonUnderTest.NixDefinition("live")))).Succeeded);
        Assert.True((await client.RunJobAsync(c => c.StartContainerAsync("live"))).Succeeded);
        string path = await client.GetContainerAsync("live");

        var states = new ConcurrentQueue<string>();
        using var watch = await client.Connection.WatchSignalAsync(null, path, Names.PropertiesInterface, "PropertiesChanged",
            static (Message m, object? _) => m.GetBodyReader() is var r ? (r.ReadString(), r.ReadDictionaryOfStringToVariantValue()) : default,
            (Notification<(string Interface, Dictionary<string, VariantValue> Changed)> n) =>
            {
                if (n.HasValue && n.Value.Changed.TryGetValue("State", out var state))
                {
                    states.Enqueue(state.GetString());
                }
            }, ObserverFlags.None, emitOnCapturedContext: false);

        // 1. Its init exits on its own (SIGTERM from inside: the init script exits cleanly).
        await client.RunCommandAsync(path, ["kill", "-TERM", "1"], new Dictionary<string, string>());
        await Eventually.TrueAsync(() => states.Contains("stopped"), "PropertiesChanged(State=stopped)");
        var row = Assert.Single(await client.ListContainersAsync());
        Assert.Equal(("stopped", 0u), (row.State, row.LeaderPid));

        // 2. Someone starts it with LXC directly.
        states.Clear();
        var started = await Programs.Run("lxc-start", "-P", daemon.LxcPath, "-n", "live", "-d");
        Assert.True(started.ExitCode == 0, started.Stderr);
        await Eventually.TrueAsync(() => states.Contains("running"), "PropertiesChanged(State=running)");
        row = Assert.Single(await client.ListContainersAsync());
        Assert.Equal("running", row.State);
        Assert.Equal(row.UidBase, HostFacts.UidOf((int)row.LeaderPid));

        // 3. Someone stops it with lxc-stop.
        states.Clear();
        var stopped = await Programs.Run("lxc-stop", "-P", daemon.LxcPath, "-n", "live", "-k");
        Assert.True(stopped.ExitCode == 0, stopped.Stderr);
        await Eventually.TrueAsync(() => states.Contains("stopped"), "PropertiesChanged(State=stopped) after lxc-stop");
    }
}
