using ContainerD.Contract;
using ContainerD.IntegrationTests.Harness;

namespace ContainerD.IntegrationTests;

/// <summary>Container.GetUsage() from a real running container's cgroup, and what a stopped one answers.</summary>
public sealed class UsageTests
{
    [Fact]
    public async Task GetUsage_gives_a_running_containers_figures_and_a_stopped_one_an_empty_dictionary()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        using var client = await daemon.ConnectAsync();
        const string limits = "limits: { memory: 256M, pids: 200 }\n";
        Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync("busy", DaemonUnderTest.NixDefinition("busy", extra: limits)))).Succeeded);
        string path = await client.GetContainerAsync("busy");

        // Created, not running: an empty dictionary.
        Assert.Empty(await client.GetUsageAsync(path));

        var start = await client.RunJobAsync(c => c.StartContainerAsync("busy"));
        Assert.True(start.Succeeded, start.Message);
        var before = await client.GetUsageAsync(path);
        Assert.InRange(before["TasksCurrent"].GetUInt64(), 1UL, 200UL);
        Assert.Equal(200UL, before["TasksMax"].GetUInt64());
        Assert.InRange(before["MemoryCurrent"].GetUInt64(), 1UL, 256UL << 20);
        Assert.Equal(256UL << 20, before["MemoryMax"].GetUInt64());
        ulong cpuBefore = before["CPUUsageNSec"].GetUInt64();

        // A second of busy loop inside: the CPU time grows by a good part of it.
        var loop = await daemon.CliAsync("run", "busy", "--", "sh", "-c", "end=$(( $(date +%s) + 2 )); while [ $(date +%s) -lt $end ]; do :; done; echo looped");
        Assert.Contains("looped", loop.Stdout);
        ulong cpuAfter = (await client.GetUsageAsync(path))["CPUUsageNSec"].GetUInt64();
        Assert.True(cpuAfter > cpuBefore + 300_000_000UL, $"{cpuBefore} → {cpuAfter}");

        // containerctl status words them as systemctl does.
        var status = await daemon.CliAsync("status", "busy");
        Assert.True(status.ExitCode == 0, status.ToString());
        Assert.Matches(@"\n +Tasks: [1-9]\d* \(limit: 200\)\n", status.Stdout);
        Assert.Matches(@"\n +Memory: [0-9.]+[KMG] \(limit: 256M\)\n", status.Stdout);
        Assert.Matches(@"\n +CPU: [0-9.]+(ms|s)|\d+min", status.Stdout);

        // Stopped again: an empty dictionary, and status shows no figures.
        Assert.True((await client.RunJobAsync(c => c.StopContainerAsync("busy", true))).Succeeded);
        Assert.Empty(await client.GetUsageAsync(path));
        var stopped = await daemon.CliAsync("status", "busy");
        Assert.DoesNotContain("Memory:", stopped.Stdout);
    }

    [Fact]
    public async Task GetUsage_is_public_under_the_repositorys_bus_policy()
    {
        await TestUsers.EnsureAsync(TestUsers.Outsider);
        string dir = BusConfigs.SharedDir();
        await using var daemon = await DaemonUnderTest.StartAsync("", PrivateBus.Start(BusConfigs.SystemWithRepoPolicy(dir)));
        using var client = await daemon.ConnectAsync();
        Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync("seen", DaemonUnderTest.NixDefinition("seen")))).Succeeded);
        string path = await client.GetContainerAsync("seen");
        var (exit, stdout, stderr) = await Programs.Run(TestUsers.As(TestUsers.Outsider)[0],
            [.. TestUsers.As(TestUsers.Outsider)[1..], "busctl", $"--address={daemon.Bus.Address}", "--", "call", "io.containerctl.ContainerD1",
                path, Names.ContainerInterface, Wire.Container.GetUsage]);
        Assert.True(exit == 0, stderr);
        Assert.Equal("a{sv} 0", stdout.Trim());
        Directory.Delete(dir, recursive: true);
    }
}
