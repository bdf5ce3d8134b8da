using ContainerD.Contract;
using ContainerD.Domain.Lxc;
using ContainerD.IntegrationTests.Harness;
using ContainerD.Os;
using Tmds.DBus.Protocol;

namespace ContainerD.IntegrationTests;

/// <summary>
/// Container.GetUsage() from real running containers: each figure moves when the container does
/// what it measures (a busy loop, 64 MiB, 50 sleepers, a ping over the veth, a 10 MB file), and a
/// figure the host cannot give is absent.
/// </summary>
public sealed class UsageTests
{
    /// <summary>Every container of these tests boots the same system: one Nix build for all of them.</summary>
    private static string Definition(string name, string extra = "") => DaemonUnderTest.NixDefinition(name, hostName: "usage", extra: extra);

    /// <summary>A daemon with one container running, the client that made it, and its object's path.</summary>
    private sealed record Running(DaemonUnderTest Daemon, ContainerDClient Client, string Name, string Path) : IAsyncDisposable
    {
        public async Task<ulong?> FigureAsync(string key) =>
            (await Client.GetUsageAsync(Path)).TryGetValue(key, out var value) ? value.GetUInt64() : null;

        public Task RunAsync(string script) => Checked.CliAsync(Daemon, "run", Name, "--", "sh", "-c", script);

        public async ValueTask DisposeAsync()
        {
            Client.Dispose();
            await Daemon.DisposeAsync();
        }
    }

    private static async Task<Running> RunningAsync(string name, string extra = "")
    {
        var daemon = await DaemonUnderTest.StartAsync();
        var client = await daemon.ConnectAsync();
        var running = new Running(daemon, client, name, "");
        try
        {
            var create = await client.RunJobAsync(c => c.CreateContainerAsync(name, Definition(name, extra)));
            Assert.True(create.Succeeded, create.Message);
            var start = await client.RunJobAsync(c => c.StartContainerAsync(name));
            Assert.True(start.Succeeded, start.Message);
            return running with { Path = await client.GetContainerAsync(name) };
        }
        catch
        {
            await running.DisposeAsync();
            throw;
        }
    }

    [Fact]
    public async Task GetUsage_gives_a_running_containers_figures_and_a_stopped_one_an_empty_dictionary()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        using var client = await daemon.ConnectAsync();
        const string limits = "limits: { memory: 256M, pids: 200 }\n";
        Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync("busy", Definition("busy", limits)))).Succeeded);
        string path = await client.GetContainerAsync("busy");

        // Created, not running: an empty dictionary.
        Assert.Empty(await client.GetUsageAsync(path));

        var start = await client.RunJobAsync(c => c.StartContainerAsync("busy"));
        Assert.True(start.Succeeded, start.Message);
        var before = await client.GetUsageAsync(path);
        Assert.InRange(before[UsageKeys.TasksCurrent].GetUInt64(), 1UL, 200UL);
        Assert.Equal(200UL, before[UsageKeys.TasksMax].GetUInt64());
        Assert.InRange(before[UsageKeys.MemoryCurrent].GetUInt64(), 1UL, 256UL << 20);
        Assert.Equal(256UL << 20, before[UsageKeys.MemoryMax].GetUInt64());
        Assert.True(before[UsageKeys.MemoryPeak].GetUInt64() >= 1);
        // The root's first walk is waited for (it is a handful of directories), and is what du says.
        ulong disk = before[UsageKeys.RootDiskBytes].GetUInt64();
        Assert.Equal(await DuAsync(Path.Combine(daemon.StateDir, "containers", "busy", "rootfs")), disk);
        Assert.True(before.ContainsKey(UsageKeys.RootDiskMeasuredAt));
        // No veth, no traffic to count; an I/O controller this host has (blkio on v1, io on v2): the figures.
        Assert.False(before.ContainsKey(UsageKeys.Interfaces));
        var host = HostProbe.Detect();
        bool io = host.CgroupV2Controllers.Contains("io") || host.CgroupV1Controllers.Contains("blkio");
        Assert.Equal(io, before.ContainsKey(UsageKeys.IOReadBytes) && before.ContainsKey(UsageKeys.IOWriteBytes));
        ulong cpuBefore = before[UsageKeys.CpuUsageNSec].GetUInt64();

        // Two seconds of busy loop inside: the CPU time grows by a good part of it.
        var loop = await daemon.CliAsync("run", "busy", "--", "sh", "-c", "end=$(( $(date +%s) + 2 )); while [ $(date +%s) -lt $end ]; do :; done; echo looped");
        Assert.Contains("looped", loop.Stdout);
        ulong cpuAfter = (await client.GetUsageAsync(path))[UsageKeys.CpuUsageNSec].GetUInt64();
        Assert.True(cpuAfter > cpuBefore + 300_000_000UL, $"{cpuBefore} → {cpuAfter}");

        // containerctl status words them as systemctl does.
        var status = await Checked.CliAsync(daemon, "status", "busy");
        Assert.Matches(@"\n +Tasks: [1-9]\d* \(limit: 200\)\n", status.Stdout);
        Assert.Matches(@"\n +Memory: [0-9.]+[KMG] \(peak: [0-9.]+[KMG], limit: 256M\)\n", status.Stdout);
        Assert.Matches(@"\n +CPU: ([0-9.]+(ms|s)|\d+min)", status.Stdout);
        Assert.Matches(@"\n +Disk: [0-9.]+[KMG] \(writable root\)\n", status.Stdout);
        Assert.DoesNotContain("Network:", status.Stdout);

        // Stopped again: an empty dictionary, and status shows no figures.
        Assert.True((await client.RunJobAsync(c => c.StopContainerAsync("busy", true))).Succeeded);
        Assert.Empty(await client.GetUsageAsync(path));
        var stopped = await daemon.CliAsync("status", "busy");
        Assert.DoesNotContain("Memory:", stopped.Stdout);
        Assert.DoesNotContain("Disk:", stopped.Stdout);

        // Started again: a new init, a new cgroup, its own figures (CPU starts over).
        Assert.True((await client.RunJobAsync(c => c.StartContainerAsync("busy"))).Succeeded);
        var again = await client.GetUsageAsync(path);
        Assert.InRange(again[UsageKeys.TasksCurrent].GetUInt64(), 1UL, 200UL);
        Assert.True(again[UsageKeys.CpuUsageNSec].GetUInt64() < cpuAfter, $"{again[UsageKeys.CpuUsageNSec].GetUInt64()} after a restart, {cpuAfter} before");
    }

    [Fact]
    public async Task Allocating_64_MiB_inside_raises_memory_now_and_its_peak_which_stays_once_it_is_freed()
    {
        await using var c = await RunningAsync("hungry");
        ulong before = (await c.FigureAsync(UsageKeys.MemoryCurrent))!.Value;

        // awk holds a 64 MiB string (every page written) until its input ends, which a sleep holds open.
        // (Not system("sleep"): busybox awk runs it with /bin/sh, which the container does not have.)
        await c.RunAsync("""sleep 600 </dev/null 2>/dev/null | awk 'BEGIN { s = sprintf("%67108864s", "") } END { print length(s) }' >/dev/null 2>&1 &""");
        await Eventually.TrueAsync(async () => await c.FigureAsync(UsageKeys.MemoryCurrent) >= before + (64UL << 20),
            "MemoryCurrent growing by 64 MiB", TimeSpan.FromSeconds(30));
        Assert.True(await c.FigureAsync(UsageKeys.MemoryPeak) >= before + (64UL << 20));
        Assert.Matches(@"\n +Memory: [0-9.]+M \(peak: [0-9.]+M(, swap: [0-9.]+[BKMG])?\)\n", (await c.Daemon.CliAsync("status", "hungry")).Stdout);

        // Freed: memory drops back, the peak remembers.
        await c.RunAsync("kill $(pidof awk)");
        await Eventually.TrueAsync(async () => await c.FigureAsync(UsageKeys.MemoryCurrent) < before + (32UL << 20),
            "MemoryCurrent dropping once awk is gone", TimeSpan.FromSeconds(30));
        Assert.True(await c.FigureAsync(UsageKeys.MemoryPeak) >= before + (64UL << 20));
    }

    [Fact]
    public async Task Fifty_sleepers_inside_raise_the_tasks_by_fifty()
    {
        await using var c = await RunningAsync("crowded");
        ulong before = (await c.FigureAsync(UsageKeys.TasksCurrent))!.Value;

        await c.RunAsync("for i in $(seq 50); do sleep 600 </dev/null >/dev/null 2>&1 & done");
        await Eventually.TrueAsync(async () => await c.FigureAsync(UsageKeys.TasksCurrent) >= before + 50, "TasksCurrent growing by 50");
        Assert.Matches(@"\n +Tasks: (5[1-9]|[6-9]\d|\d{3,}) \(limit: 16384\)\n", (await c.Daemon.CliAsync("status", "crowded")).Stdout);
    }

    [Fact]
    public async Task A_ping_over_the_veth_raises_the_counters_both_ways_as_the_container_sees_them()
    {
        const string network = """
            network:
              mode: veth
              hostAddress: 10.231.17.1/30
              localAddress: 10.231.17.2/30
            """;
        await using var c = await RunningAsync("pinged", network);
        // A fresh link may drop a first packet while the neighbour is resolved: one ping that answers first.
        await Eventually.TrueAsync(async () => (await Programs.Run(Prerequisites.Busybox, "ping", "-c", "1", "-W", "1", "10.231.17.2")).ExitCode == 0,
            "the container answering a ping", TimeSpan.FromSeconds(20));
        var before = Interface(await c.Client.GetUsageAsync(c.Path));

        var ping = await Programs.Run(Prerequisites.Busybox, "ping", "-c", "5", "-i", "0.2", "-s", "1000", "10.231.17.2");
        Assert.True(ping.ExitCode == 0, ping.Stderr);
        var after = Interface(await c.Client.GetUsageAsync(c.Path));

        // Five requests of 1000 bytes came in to the container, five replies went out.
        Assert.True(after.Rx.Packets >= before.Rx.Packets + 5, $"{before} → {after}");
        Assert.True(after.Tx.Packets >= before.Tx.Packets + 5, $"{before} → {after}");
        Assert.True(after.Rx.Bytes >= before.Rx.Bytes + 5000, $"{before} → {after}");
        Assert.True(after.Tx.Bytes >= before.Tx.Bytes + 5000, $"{before} → {after}");
        // The host end counts the same traffic the other way round.
        string statistics = $"/sys/class/net/{LxcConfigRenderer.HostInterfaceName("pinged")}/statistics";
        Assert.True(ulong.Parse(await File.ReadAllTextAsync(Path.Combine(statistics, "tx_packets"))) >= after.Rx.Packets);
        Assert.Matches(@"\n +Network: eth0: [0-9.]+[BKMG] in \(\d+ packets\), [0-9.]+[BKMG] out \(\d+ packets\)\n",
            (await c.Daemon.CliAsync("status", "pinged")).Stdout);
    }

    [Fact]
    public async Task Writing_a_10_MB_file_inside_raises_the_roots_disk_use_and_an_ephemeral_root_has_none()
    {
        await using var c = await RunningAsync("filled");
        var client = c.Client;
        var first = await client.GetUsageAsync(c.Path);
        ulong before = first[UsageKeys.RootDiskBytes].GetUInt64();

        await c.RunAsync("dd if=/dev/zero of=/root/ten bs=1M count=10 2>/dev/null");
        // The figure is the last walk's; one is queued whenever it is due (every 2 s at most for a root this small).
        await Eventually.TrueAsync(async () => await c.FigureAsync(UsageKeys.RootDiskBytes) >= before + 10_000_000,
            "RootDiskBytes growing by 10 MB", TimeSpan.FromSeconds(30));
        var now = await client.GetUsageAsync(c.Path);
        Assert.True(now[UsageKeys.RootDiskMeasuredAt].GetUInt64() > first[UsageKeys.RootDiskMeasuredAt].GetUInt64());
        Assert.InRange(now[UsageKeys.RootDiskBytes].GetUInt64() - before, 10_000_000UL, 11_000_000UL);

        // An ephemeral root is a tmpfs in the container's own namespace: memory, not disk.
        var create = await client.RunJobAsync(c => c.CreateContainerAsync("fleeting", Definition("fleeting", "ephemeral: true\n")));
        Assert.True(create.Succeeded, create.Message);
        Assert.True((await client.RunJobAsync(c => c.StartContainerAsync("fleeting"))).Succeeded);
        var ephemeral = await client.GetUsageAsync(await client.GetContainerAsync("fleeting"));
        Assert.True(ephemeral.ContainsKey(UsageKeys.MemoryCurrent));
        Assert.False(ephemeral.ContainsKey(UsageKeys.RootDiskBytes));
        Assert.False(ephemeral.ContainsKey(UsageKeys.RootDiskMeasuredAt));
    }

    [Fact]
    public async Task GetUsage_is_public_under_the_repositorys_bus_policy()
    {
        await TestUsers.EnsureAsync(TestUsers.Outsider);
        string dir = BusConfigs.SharedDir();
        await using var daemon = await DaemonUnderTest.StartAsync("", PrivateBus.Start(BusConfigs.SystemWithRepoPolicy(dir)));
        using var client = await daemon.ConnectAsync();
        Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync("seen", Definition("seen")))).Succeeded);
        string path = await client.GetContainerAsync("seen");
        string[] outsider = TestUsers.As(TestUsers.Outsider);
        var (exit, stdout, stderr) = await Programs.Run(outsider[0],
            [.. outsider[1..], "busctl", $"--address={daemon.Bus.Address}", "--", "call", "io.containerctl.ContainerD1",
                path, Names.ContainerInterface, Wire.Container.GetUsage]);
        Assert.True(exit == 0, stderr);
        Assert.Equal("a{sv} 0", stdout.Trim());
        // The job counters too: how jobs ended is public, as JobRemoved is.
        (exit, stdout, stderr) = await Programs.Run(outsider[0],
            [.. outsider[1..], "busctl", $"--address={daemon.Bus.Address}", "--", "call", "io.containerctl.ContainerD1",
                Names.ManagerPath, Names.ManagerInterface, Wire.Manager.GetJobStatistics]);
        Assert.True(exit == 0, stderr);
        Assert.Contains("\"create\" \"done\" 1 ", stdout);
        Directory.Delete(dir, recursive: true);
    }

    private sealed record Counters(ulong Bytes, ulong Packets);

    private sealed record Link(Counters Rx, Counters Tx);

    private static Link Interface(Dictionary<string, VariantValue> usage)
    {
        var interfaces = usage[UsageKeys.Interfaces];
        Assert.Equal(1, interfaces.Count);
        var eth0 = interfaces.GetDictionaryEntry(0);
        Assert.Equal(LxcConfigRenderer.ContainerInterfaceName, eth0.Key.GetString());
        var counters = eth0.Value.GetDictionary<string, ulong>();
        return new Link(new Counters(counters[InterfaceKeys.RxBytes], counters[InterfaceKeys.RxPackets]),
            new Counters(counters[InterfaceKeys.TxBytes], counters[InterfaceKeys.TxPackets]));
    }

    internal static async Task<ulong> DuAsync(string path)
    {
        var (exit, stdout, stderr) = await Programs.Run("du", "-s", "-x", "-B1", path);
        Assert.True(exit == 0, stderr);
        return ulong.Parse(stdout.Split('\t')[0]);
    }
}
