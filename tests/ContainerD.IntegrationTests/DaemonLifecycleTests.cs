using System.Net.Sockets;
using System.Text;
using ContainerD.IntegrationTests.Harness;
using Tmds.DBus.Protocol;

namespace ContainerD.IntegrationTests;

/// <summary>
/// A daemon that cannot start says why in one line and exits non-zero; one that loses its bus exits
/// at once; the watchdog hears from it only while it answers; one daemon per state dir.
/// </summary>
public sealed class DaemonLifecycleTests
{
    public enum Obstacle { BusUnreachable, NameOwned, NameRefusedByPolicy, StateDirReadOnly }

    [Theory]
    [InlineData(Obstacle.BusUnreachable, "cannot connect to the bus at unix:path=")]
    [InlineData(Obstacle.NameOwned, "the bus name io.containerctl.ContainerD1 is owned by another process")]
    [InlineData(Obstacle.NameRefusedByPolicy, "does not let containerctld own io.containerctl.ContainerD1")]
    [InlineData(Obstacle.StateDirReadOnly, "Read-only file system")]
    public async Task A_daemon_that_cannot_start_says_why_in_one_line_exits_1_and_touches_nothing(Obstacle obstacle, string expected)
    {
        string busDir = BusConfigs.SharedDir();
        PrivateBus? bus = obstacle == Obstacle.NameRefusedByPolicy ? PrivateBus.Start(RefusingPolicy(busDir)) : null;
        string? address = obstacle == Obstacle.BusUnreachable ? $"unix:path={busDir}/nothing-listens-here" : null;
        await using var daemon = DaemonUnderTest.Prepare(bus: bus, busAddress: address);
        using var squatter = obstacle == Obstacle.NameOwned ? await OwnNameAsync(daemon.Bus.Address) : null;
        bool mounted = false;
        try
        {
            if (obstacle == Obstacle.StateDirReadOnly)
            {
                Directory.CreateDirectory(daemon.StateDir);
                await Programs.RunChecked("mount", "-t", "tmpfs", "-o", "ro,mode=0711", "tmpfs", daemon.StateDir);
                mounted = true;
            }

            int exit = await daemon.RunUntilExitAsync(TimeSpan.FromSeconds(60));

            Assert.True(exit == 1, $"exit {exit}:\n{daemon.Output}");
            var lines = daemon.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            var line = Assert.Single(lines);
            Assert.StartsWith("containerctld: cannot start: ", line);
            Assert.Contains(expected, line);
            // Before the name is its own, the daemon touches nothing but its lock.
            Assert.False(Directory.Exists(Path.Combine(daemon.StateDir, "containers")), "recovery ran before the bus name was owned");
            Assert.False(Directory.Exists(daemon.LxcPath));
        }
        finally
        {
            if (mounted)
            {
                await Programs.RunChecked("umount", daemon.StateDir);
            }
            Directory.Delete(busDir, recursive: true);
        }
    }

    [Fact]
    public async Task A_second_daemon_on_the_same_config_is_refused_before_it_touches_the_first_ones_create()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        using var client = await daemon.ConnectAsync();
        var building = new TaskCompletionSource();
        await client.WatchJobsAsync((_, line) => { if (line.Contains("step 1 of", StringComparison.Ordinal)) { building.TrySetResult(); } });
        string yaml = DaemonUnderTest.NixDefinition("first", variant: Unique(), args: new Dictionary<string, string> { ["buildDelay"] = "6" });
        string job = await client.CreateContainerAsync("first", yaml);
        await building.Task.WaitAsync(TimeSpan.FromSeconds(60));

        // The same binary on the same config file while the first one builds.
        var (exit, stdout, stderr) = await Programs.RunWith(new Dictionary<string, string> { ["NIX_CONFIG"] = "substituters =" }, null,
            Repo.PublishedDaemon, "--config", daemon.ConfigFile);

        Assert.True(exit == 1, $"exit {exit}\n{stdout}\n{stderr}");
        Assert.Contains($"containerctld: cannot start: another containerctld (pid {daemon.Pid}) uses the state dir {daemon.StateDir}", stderr);
        Assert.DoesNotContain("rolling back", stdout + stderr);
        // The first daemon's create was left alone: it finishes, with the first range.
        var end = await client.WaitForJobAsync(job).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(end.Succeeded, end.Message);
        var row = Assert.Single(await client.ListContainersAsync());
        Assert.Equal((uint)ContainerD.Domain.Configuration.DaemonConfig.DefaultIdPool.Start, row.UidBase);
        await Invariants.AssertHoldAsync(daemon, client);
    }

    [Fact]
    public async Task A_daemon_that_loses_its_bus_exits_1_at_once_and_says_why()
    {
        var daemon = await DaemonUnderTest.StartAsync();
        try
        {
            daemon.Bus.Dispose(); // kills the dbus-daemon: the daemon's connection drops

            int exit = await daemon.WaitForExitAsync(TimeSpan.FromSeconds(30));
            Assert.True(exit == 1, $"exit {exit}:\n{daemon.Output}");
            Assert.Contains("containerctld lost its connection to the bus at", daemon.Output);
            Assert.Contains("exiting with status 1 so that systemd restarts it", daemon.Output);
        }
        finally
        {
            await daemon.DisposeAsync();
        }
    }

    [Fact]
    public async Task The_watchdog_hears_from_the_daemon_only_while_its_bus_loop_answers()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        await daemon.KillAsync();
        string socketPath = Path.Combine(daemon.Dir, "notify.sock");
        using var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(socketPath));
        // WatchdogSec=1s: a health check every half second.
        await daemon.StartProcessAsync(new Dictionary<string, string> { ["NOTIFY_SOCKET"] = socketPath, ["WATCHDOG_USEC"] = "1000000" });
        await ReceiveAsync(socket, "WATCHDOG=1", TimeSpan.FromSeconds(10));

        // A stopped dbus-daemon: the daemon's call to itself gets no answer, so no WATCHDOG=1 either
        // (a timer that cannot fail would go on sending). The window is bounded by the daemon's own
        // lines: between its first failed check and its second, nothing may arrive.
        await Programs.RunChecked("kill", "-STOP", daemon.Bus.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture));
        try
        {
            await Eventually.TrueAsync(() => daemon.Output.Contains("watchdog: the daemon did not answer its own call on the bus", StringComparison.Ordinal),
                "the watchdog's first failed check", TimeSpan.FromSeconds(10));
            Drain(socket);
            await Eventually.TrueAsync(() => daemon.Output.Contains("watchdog: still no answer on the bus (2 checks in a row)", StringComparison.Ordinal),
                "the watchdog's second failed check", TimeSpan.FromSeconds(10));
            var sent = new List<string>();
            var buffer = new byte[4096];
            while (socket.Available > 0)
            {
                sent.Add(Encoding.UTF8.GetString(buffer, 0, socket.Receive(buffer)));
            }
            Assert.DoesNotContain(sent, m => m.Contains("WATCHDOG=1", StringComparison.Ordinal));
        }
        finally
        {
            await Programs.RunChecked("kill", "-CONT", daemon.Bus.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        await ReceiveAsync(socket, "WATCHDOG=1", TimeSpan.FromSeconds(10));
        await daemon.AssertLoggedAsync("watchdog: the daemon did not answer its own call on the bus");
    }

    [Fact]
    public async Task The_unit_asks_for_the_watchdog_and_restarts_a_daemon_that_fails()
    {
        string unit = await File.ReadAllTextAsync(Path.Combine(Repo.Root, "systemd", "containerctld.service"));
        Assert.Matches(@"(?m)^WatchdogSec=\d+(s|min)?$", unit);
        Assert.Matches(@"(?m)^Restart=on-failure$", unit);
    }

    [Fact]
    public async Task The_daemon_watches_no_directory_below_its_working_directory()
    {
        // .NET's default appsettings.json source, reloadOnChange, put an inotify watch on every
        // directory below the working directory (/ under systemd): seconds of start-up, and an event
        // for every change on the host. The daemon reads its YAML config, once.
        await using var daemon = await DaemonUnderTest.StartAsync();
        var watches = Directory.EnumerateFiles($"/proc/{daemon.Pid}/fdinfo")
            .SelectMany(fd => { try { return File.ReadAllLines(fd); } catch (IOException) { return []; } })
            .Count(line => line.StartsWith("inotify wd:", StringComparison.Ordinal));
        Assert.Equal(0, watches);
    }

    [Fact]
    public async Task A_dangling_symlink_among_the_definitions_is_reported_and_the_daemon_serves_the_rest()
    {
        var daemon = DaemonUnderTest.Prepare();
        await using (daemon)
        {
            File.CreateSymbolicLink(Path.Combine(daemon.DefinitionsDir, "ghost.yaml"), "/nonexistent/ghost.yaml");
            string system = await Systems.BuildAsync("declared");
            await File.WriteAllTextAsync(Path.Combine(daemon.DefinitionsDir, "real.yaml"), $"system: {{ path: {system} }}\n");

            await daemon.StartProcessAsync();

            using var client = await daemon.ConnectAsync();
            await Eventually.TrueAsync(async () => (await client.ListContainersAsync()).Any(c => c.Name == "real"), "the other declared container");
            await daemon.AssertLoggedAsync("ghost.yaml not applied: it is a symlink to /nonexistent/ghost.yaml, which does not exist");
            Assert.DoesNotContain("   at ", daemon.Output);
        }
    }

    private static string RefusingPolicy(string dir) => BusConfigs.Open(dir, """<deny own="io.containerctl.ContainerD1"/>""");

    private static async Task<DBusConnection> OwnNameAsync(string address)
    {
        var connection = new DBusConnection(address);
        await connection.ConnectAsync();
        await connection.RequestNameAsync(Contract.Names.DefaultBusName, RequestNameOptions.None);
        return connection;
    }

    private static async Task ReceiveAsync(Socket socket, string expected, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        while (DateTime.UtcNow < deadline)
        {
            if (await ReceiveOrNullAsync(socket, deadline - DateTime.UtcNow) is { } message && message.Contains(expected, StringComparison.Ordinal))
            {
                return;
            }
        }
        throw new TimeoutException($"no {expected} on NOTIFY_SOCKET within {within.TotalSeconds} s");
    }

    private static async Task<string?> ReceiveOrNullAsync(Socket socket, TimeSpan within)
    {
        var buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(within);
        try
        {
            int received = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
            return Encoding.UTF8.GetString(buffer, 0, received);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    private static void Drain(Socket socket)
    {
        var buffer = new byte[4096];
        while (socket.Available > 0)
        {
            socket.Receive(buffer);
        }
    }

    private static string Unique() => Guid.NewGuid().ToString("N")[..10];
}
