using System.Net.Sockets;
using System.Text;
using ContainerD.IntegrationTests.Harness;

namespace ContainerD.IntegrationTests;

/// <summary>Stopping or killing the daemon never touches containers; the next start re-adopts them.</summary>
public sealed class RestartTests
{
    [Fact]
    public async Task After_kill_9_the_daemon_readopts_running_containers_and_autostarts_the_rest_once()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        using (var client = await daemon.ConnectAsync())
        {
            foreach (var (name, autostart, start) in new[] { ("keeps", true, true), ("manual", false, true), ("auto", true, false), ("idle", false, false) })
            {
                string yaml = DaemonUnderTest.NixDefinition(name, hostName: "restart", extra: $"autostart: {(autostart ? "true" : "false")}");
                Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync(name, yaml))).Succeeded);
                if (start)
                {
                    Assert.True((await client.RunJobAsync(c => c.StartContainerAsync(name))).Succeeded);
                }
            }
        }
        var before = await ListAsync(daemon);

        await daemon.KillAsync();
        // The daemon is gone; its containers are not.
        Assert.True(HostFacts.ProcessExists((int)before["keeps"].LeaderPid));
        Assert.True(HostFacts.ProcessExists((int)before["manual"].LeaderPid));

        await daemon.StartProcessAsync();
        await Eventually.TrueAsync(async () => (await ListAsync(daemon))["auto"].State == "running", "autostart of 'auto'");
        var after = await ListAsync(daemon);
        Assert.Equal(before["keeps"].LeaderPid, after["keeps"].LeaderPid);
        Assert.Equal(before["manual"].LeaderPid, after["manual"].LeaderPid);
        Assert.Equal("stopped", after["idle"].State);
        foreach (string name in before.Keys)
        {
            Assert.Equal((before[name].UidBase, before[name].UidSize, before[name].Generation), (after[name].UidBase, after[name].UidSize, after[name].Generation));
        }
        using (var client = await daemon.ConnectAsync())
        {
            await Invariants.AssertHoldAsync(daemon, client);
        }

        // Again: autostart happens once per start, and a running autostart container is left alone.
        int startups = StartupsIn(daemon.Output);
        await daemon.KillAsync();
        await daemon.StartProcessAsync();
        await Eventually.TrueAsync(() => StartupsIn(daemon.Output) > startups, "the daemon's start-up line");
        Assert.EndsWith("autostart: 0 containers started", daemon.Output.Split('\n').Last(l => l.Contains(StartupLine, StringComparison.Ordinal)).TrimEnd());
        var again = await ListAsync(daemon);
        Assert.Equal(after["auto"].LeaderPid, again["auto"].LeaderPid);
        Assert.Equal(after["keeps"].LeaderPid, again["keeps"].LeaderPid);
    }

    private const string StartupLine = "start-up done:";

    private static int StartupsIn(string output) => output.Split('\n').Count(l => l.Contains(StartupLine, StringComparison.Ordinal));

    [Fact]
    public async Task The_daemon_says_READY_1_on_NOTIFY_SOCKET_once_it_serves_the_bus()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        await daemon.KillAsync();
        string socketPath = Path.Combine(daemon.Dir, "notify.sock");
        using var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(socketPath));

        await daemon.StartProcessAsync(new Dictionary<string, string> { ["NOTIFY_SOCKET"] = socketPath });
        var buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        int received = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
        Assert.Contains("READY=1", Encoding.UTF8.GetString(buffer, 0, received));
    }

    private static async Task<Dictionary<string, Contract.ContainerSummary>> ListAsync(DaemonUnderTest daemon)
    {
        using var client = await daemon.ConnectAsync();
        return (await client.ListContainersAsync()).ToDictionary(r => r.Name);
    }
}
