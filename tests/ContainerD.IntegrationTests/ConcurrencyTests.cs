using System.Diagnostics;
using ContainerD.Contract;
using ContainerD.IntegrationTests.Harness;
using Tmds.DBus.Protocol;

namespace ContainerD.IntegrationTests;

/// <summary>One job per container at a time (a second gets Busy); different containers in parallel; reads never wait.</summary>
public sealed class ConcurrencyTests
{
    [Fact]
    public async Task Ten_containers_created_and_started_at_once_all_run_with_disjoint_ranges()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        using var client = await daemon.ConnectAsync();
        string system = await Systems.BuildAsync("many");
        var names = Enumerable.Range(1, 10).Select(i => $"c{i:00}").ToList();

        var created = await Task.WhenAll(names.Select(n => client.RunJobAsync(c => c.CreateContainerAsync(n, $"system: {{ path: {system} }}\n"))));
        Assert.All(created, end => Assert.True(end.Succeeded, end.Message));
        var started = await Task.WhenAll(names.Select(n => client.RunJobAsync(c => c.StartContainerAsync(n))));
        Assert.All(started, end => Assert.True(end.Succeeded, end.Message));

        var rows = await client.ListContainersAsync();
        Assert.Equal(names, rows.Select(r => r.Name));
        Assert.All(rows, r => Assert.Equal(r.UidBase, HostFacts.UidOf((int)r.LeaderPid)));
        var ranges = rows.Select(r => (Start: (long)r.UidBase, End: (long)r.UidBase + r.UidSize)).OrderBy(r => r.Start).ToList();
        for (int i = 1; i < ranges.Count; i++)
        {
            Assert.True(ranges[i - 1].End <= ranges[i].Start, $"ranges {ranges[i - 1]} and {ranges[i]} overlap");
        }
        await Invariants.AssertHoldAsync(daemon, client);
    }

    [Fact]
    public async Task A_second_change_is_Busy_reads_do_not_wait_and_a_canceled_build_leaves_no_generation()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        using var client = await daemon.ConnectAsync();
        Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync("busy", DaemonUnderTest.NixDefinition("busy")))).Succeeded);

        // A build that takes 30 s unless canceled; the variant is new so Nix really builds it.
        string slow = DaemonUnderTest.NixDefinition("busy", "slow-" + Guid.NewGuid().ToString("N")[..8],
            args: new Dictionary<string, string> { ["buildDelay"] = "30" });
        await client.WatchJobsAsync();
        string job = await client.UpdateContainerAsync("busy", slow);

        var busy = await Assert.ThrowsAsync<DBusErrorReplyException>(() => client.StartContainerAsync("busy"));
        Assert.Equal("io.containerctl.ContainerD1.Error.Busy", busy.ErrorName);
        Assert.Contains($"job {ContainerDClient.JobId(job)} (update)", busy.ErrorMessage);

        // Answered while the job runs (it builds for 30 s unless canceled, which comes after): reads never wait for a job.
        var rows = await client.ListContainersAsync();
        var jobs = await client.ListJobsAsync();
        Assert.Equal(1u, Assert.Single(rows).Generation);
        Assert.Equal(("busy", "update", "running"), (Assert.Single(jobs).Container, jobs[0].Operation, jobs[0].State));

        await Eventually.TrueAsync(() => Process.GetProcessesByName("nix-build").Length > 0, "nix-build running");
        await client.CancelJobAsync(ContainerDClient.JobId(job));
        var end = await client.WaitForJobAsync(job).WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(JobResults.Canceled, end.Result);
        Assert.Single(await client.ListGenerationsAsync("busy"));
        Assert.Equal(1u, (await client.ListContainersAsync())[0].Generation);
        await Invariants.AssertHoldAsync(daemon, client);
        // The container takes changes again.
        Assert.True((await client.RunJobAsync(c => c.StartContainerAsync("busy"))).Succeeded);
    }
}
