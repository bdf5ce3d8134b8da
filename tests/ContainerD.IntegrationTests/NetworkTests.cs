using System.Net.Sockets;
using System.Text;
using ContainerD.Contract;
using ContainerD.IntegrationTests.Harness;

namespace ContainerD.IntegrationTests;

/// <summary>
/// Networking with real containers, only between the host and containers the tests made:
/// a point-to-point veth (IPv4 and IPv6) and port forwards through nftables.
/// </summary>
public sealed class NetworkTests
{
    [Fact]
    public async Task A_point_to_point_veth_links_host_and_container_both_ways_and_goes_with_the_container()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        const string network = """
            network:
              mode: veth
              hostAddress: 10.231.1.1/30
              localAddress: 10.231.1.2/30
              hostAddress6: "fd42:231:1::1/64"
              localAddress6: "fd42:231:1::2/64"
            """;
        using var client = await daemon.ConnectAsync();
        Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync("linked", DaemonUnderTest.NixDefinition("linked", extra: network)))).Succeeded);
        var start = await client.RunJobAsync(c => c.StartContainerAsync("linked"));
        Assert.True(start.Succeeded, start.Message);

        // The host reaches the container, and the container the host, over IPv4 and IPv6.
        await AssertPingsAsync("the host → 10.231.1.2", () => Programs.Run(Prerequisites.Busybox, "ping", "-c", "1", "-W", "2", "10.231.1.2"));
        await AssertPingsAsync("the container → 10.231.1.1", () => RunInside(daemon, "linked", "ping", "-c", "1", "-W", "2", "10.231.1.1"));
        await AssertPingsAsync("the host → fd42:231:1::2", () => Programs.Run(Prerequisites.Busybox, "ping", "-6", "-c", "1", "-W", "2", "fd42:231:1::2"));
        await AssertPingsAsync("the container → fd42:231:1::1", () => RunInside(daemon, "linked", "ping", "-6", "-c", "1", "-W", "2", "fd42:231:1::1"));

        string path = await client.GetContainerAsync("linked");
        var addresses = (await client.GetPropertyAsync(path, Names.ContainerInterface, "Addresses")).GetArray<string>();
        Assert.Equal(["10.231.1.2/30", "fd42:231:1::2/64"], addresses);
        Assert.Contains("Addresses: 10.231.1.2/30, fd42:231:1::2/64", (await daemon.CliAsync("status", "linked")).Stdout);
        // The subnet's broadcast address, not the host part alone (LXC's own guess is 0.0.0.3).
        Assert.Contains("inet 10.231.1.2/30 brd 10.231.1.3 ", (await RunInside(daemon, "linked", "ip", "-4", "addr", "show", "eth0")).Stdout);

        Assert.Equal(0, (await Programs.Run("ip", "link", "show", "ve-linked")).ExitCode);
        Assert.True((await client.RunJobAsync(c => c.StopContainerAsync("linked", false))).Succeeded);
        Assert.NotEqual(0, (await Programs.Run("ip", "link", "show", "ve-linked")).ExitCode);
        Assert.Empty((await client.GetPropertyAsync(path, Names.ContainerInterface, "Addresses")).GetArray<string>());
    }

    [Fact]
    public async Task A_port_forward_reaches_a_listener_inside_and_is_gone_after_stop_and_after_a_crash()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        int hostPort = 21000 + Random.Shared.Next(1000);
        string network = $"""
            network:
              mode: veth
              hostAddress: 10.231.2.1/30
              localAddress: 10.231.2.2/30
              forwardPorts: [ {"{"} hostPort: {hostPort}, containerPort: 8080 {"}"} ]
            """;
        using var client = await daemon.ConnectAsync();
        Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync("served", DaemonUnderTest.NixDefinition("served", extra: network)))).Succeeded);

        async Task StartServingAsync()
        {
            var start = await client.RunJobAsync(c => c.StartContainerAsync("served"));
            Assert.True(start.Succeeded, start.Message);
            // busybox nc answers each connection with the container's hostname.
            var serve = await RunInside(daemon, "served", "sh", "-c", "setsid nc -ll -p 8080 -e hostname </dev/null >/dev/null 2>&1 &");
            Assert.True(serve.ExitCode == 0, serve.Stderr);
        }

        await StartServingAsync();
        // From the host itself, through its loopback address and through its own end of the link.
        Assert.Equal("served\n", await ReadFromAsync("127.0.0.1", hostPort));
        Assert.Equal("served\n", await ReadFromAsync("10.231.2.1", hostPort));
        Assert.True(await ForwardTableExistsAsync("served"));

        Assert.True((await client.RunJobAsync(c => c.StopContainerAsync("served", false))).Succeeded);
        Assert.False(await ForwardTableExistsAsync("served"));

        // A crash: the daemon dies, the container stops behind its back; the next start cleans up.
        await StartServingAsync();
        Assert.True(await ForwardTableExistsAsync("served"));
        await daemon.KillAsync();
        Assert.Equal(0, (await Programs.Run("lxc-stop", "-P", daemon.LxcPath, "-n", "served", "-k")).ExitCode);
        Assert.True(await ForwardTableExistsAsync("served"), "the rule outlives the crash until the daemon is back");
        await daemon.StartProcessAsync();
        Assert.False(await ForwardTableExistsAsync("served"));
        await Eventually.TrueAsync(() => daemon.Output.Contains("removing the port forwards of served"), "the daemon saying why");
    }

    [Fact]
    public async Task A_second_daemon_starting_leaves_the_first_ones_port_forwards_alone()
    {
        await using var first = await DaemonUnderTest.StartAsync();
        string network = $"""
            network:
              mode: veth
              hostAddress: 10.231.3.1/30
              localAddress: 10.231.3.2/30
              forwardPorts: [ {"{"} hostPort: {22000 + Random.Shared.Next(1000)}, containerPort: 8080 {"}"} ]
            """;
        using var client = await first.ConnectAsync();
        Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync("guarded", DaemonUnderTest.NixDefinition("guarded", extra: network)))).Succeeded);
        var start = await client.RunJobAsync(c => c.StartContainerAsync("guarded"));
        Assert.True(start.Succeeded, start.Message);
        Assert.True(await ForwardTableExistsAsync("guarded"));

        // Tables of every daemon share the host's nftables and one prefix: only its own are a daemon's to clean up.
        await using var second = await DaemonUnderTest.StartAsync();
        Assert.True(await ForwardTableExistsAsync("guarded"), second.Output);
    }

    private static Task<(int ExitCode, string Stdout, string Stderr)> RunInside(DaemonUnderTest daemon, string container, params string[] argv) =>
        daemon.CliAsync(["run", container, "--", .. argv]).ContinueWith(t => (t.Result.ExitCode, t.Result.Stdout, t.Result.Stderr), TaskScheduler.Default);

    /// <summary>A fresh link may drop the very first packet while neighbours are resolved: a few tries.</summary>
    private static async Task AssertPingsAsync(string what, Func<Task<(int ExitCode, string Stdout, string Stderr)>> ping)
    {
        (int ExitCode, string Stdout, string Stderr) result = default;
        for (int attempt = 0; attempt < 5 && result.ExitCode != 0 || attempt == 0; attempt++)
        {
            result = await ping();
            if (result.ExitCode == 0)
            {
                break;
            }
            await Task.Delay(500);
        }
        Assert.True(result.ExitCode == 0, $"{what}: {result.Stdout}{result.Stderr}");
        Assert.Contains("1 packets received", result.Stdout);
    }

    /// <summary>
    /// The listener inside is started in the background, so the first connections may be refused
    /// until it listens: retry those (and only those) until a deadline.
    /// </summary>
    private static async Task<string> ReadFromAsync(string host, int port)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (true)
        {
            using var tcp = new TcpClient();
            try
            {
                await tcp.ConnectAsync(host, port, timeout.Token);
                using var reader = new StreamReader(tcp.GetStream(), Encoding.UTF8);
                return await reader.ReadToEndAsync(timeout.Token);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused && !timeout.IsCancellationRequested)
            {
                await Task.Delay(50, timeout.Token);
            }
        }
    }

    private static async Task<bool> ForwardTableExistsAsync(string container) =>
        (await Programs.Run("nft", "list", "table", "ip", "containerctld-" + container)).ExitCode == 0;
}
