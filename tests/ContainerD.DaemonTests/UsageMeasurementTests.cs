using ContainerD.Contract;
using ContainerD.Daemon.Containers;
using ContainerD.Daemon.Jobs;
using ContainerD.Domain;
using ContainerD.Domain.Configuration;
using Microsoft.Extensions.Logging.Abstractions;

namespace ContainerD.DaemonTests;

/// <summary>A clock the test moves.</summary>
public sealed class ManualClock : TimeProvider
{
    private DateTimeOffset _now = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);
    public override DateTimeOffset GetUtcNow() => _now;
    // Elapsed time too is this clock's: a walk preempted on a loaded machine takes no time here.
    public override long GetTimestamp() => _now.UtcTicks;
    public override long TimestampFrequency => TimeSpan.TicksPerSecond;
    public void Advance(TimeSpan by) => _now += by;
}

/// <summary>The root's disk figure off the call path, rate-limited; the jobs' counters per operation.</summary>
public sealed class UsageMeasurementTests
{
    [Fact]
    public async Task A_call_never_waits_on_a_walk_under_way_and_gets_the_figure_once_it_is_done()
    {
        var walking = new SemaphoreSlim(0);
        var release = new TaskCompletionSource();
        var monitor = new RootDiskMonitor((root, _) =>
        {
            walking.Release();
            release.Task.Wait();
            return 4096;
        }, new ManualClock());

        // The walk is stuck: the call answers without a figure all the same.
        var first = await monitor.GetAsync("web", "/rootfs", firstWait: TimeSpan.Zero);
        await walking.WaitAsync();
        Assert.Null(first.Bytes);
        var meanwhile = await monitor.GetAsync("web", "/rootfs", firstWait: TimeSpan.Zero);
        Assert.Null(meanwhile.Bytes);

        release.SetResult();
        // The walk's end wakes a caller that waits for the first figure.
        var figure = await monitor.GetAsync("web", "/rootfs", firstWait: TimeSpan.FromMinutes(5));
        Assert.Equal(4096UL, figure.Bytes);
        Assert.NotNull(figure.MeasuredAt);
    }

    [Fact]
    public async Task A_root_is_walked_again_only_when_its_figure_is_due()
    {
        var clock = new ManualClock();
        int walks = 0;
        var walked = new SemaphoreSlim(0);
        var monitor = new RootDiskMonitor((_, _) =>
        {
            ulong bytes = (ulong)Interlocked.Increment(ref walks) * 1000;
            walked.Release();
            return bytes;
        }, clock);

        Assert.Equal(1000UL, (await monitor.GetAsync("web", "/rootfs", TimeSpan.FromMinutes(5))).Bytes);
        await walked.WaitAsync();
        // Asked again and again within the interval: the same figure, no new walk.
        for (int i = 0; i < 50; i++)
        {
            Assert.Equal(1000UL, (await monitor.GetAsync("web", "/rootfs", TimeSpan.Zero)).Bytes);
        }
        clock.Advance(RootDiskMonitor.MinInterval - TimeSpan.FromMilliseconds(1));
        Assert.Equal(1000UL, (await monitor.GetAsync("web", "/rootfs", TimeSpan.Zero)).Bytes);
        Assert.Equal(1, Volatile.Read(ref walks));

        // Due: this call still answers with the last figure and queues the walk; a later one has the new figure.
        clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(1000UL, (await monitor.GetAsync("web", "/rootfs", TimeSpan.Zero)).Bytes);
        await walked.WaitAsync();
        await Eventually(async () => (await monitor.GetAsync("web", "/rootfs", TimeSpan.Zero)).Bytes == 2000UL);
        Assert.Equal(2, Volatile.Read(ref walks));
    }

    [Theory]
    [InlineData(0, 2000)]
    [InlineData(50, 2000)]
    [InlineData(100, 2000)]
    [InlineData(1000, 20_000)]
    public void A_slow_walk_is_repeated_less_often(int tookMilliseconds, int intervalMilliseconds) =>
        Assert.Equal(TimeSpan.FromMilliseconds(intervalMilliseconds), RootDiskMonitor.Interval(TimeSpan.FromMilliseconds(tookMilliseconds)));

    [Fact]
    public async Task A_failed_walk_keeps_the_last_figure_and_a_forgotten_container_starts_over()
    {
        var clock = new ManualClock();
        int walks = 0;
        var third = new TaskCompletionSource();
        var monitor = new RootDiskMonitor((_, _) => Interlocked.Increment(ref walks) switch
        {
            1 => 7,
            2 => throw new IOException("a directory in it moved during the walk"),
            _ => third.Task.Wait(TimeSpan.FromMinutes(1)) ? 9UL : 0UL,
        }, clock);
        Assert.Equal(7UL, (await monitor.GetAsync("web", "/rootfs", TimeSpan.FromMinutes(5))).Bytes);
        clock.Advance(RootDiskMonitor.MinInterval);
        await monitor.GetAsync("web", "/rootfs", TimeSpan.Zero);
        await Eventually(() => Task.FromResult(Volatile.Read(ref walks) == 2));
        clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(7UL, (await monitor.GetAsync("web", "/rootfs", TimeSpan.Zero)).Bytes);

        // Destroyed (and made again under the same name): the old figure is not the new one's.
        monitor.Forget("web");
        Assert.Null((await monitor.GetAsync("web", "/rootfs", TimeSpan.Zero)).Bytes);
        third.SetResult();
        Assert.Equal(9UL, (await monitor.GetAsync("web", "/rootfs", TimeSpan.FromMinutes(5))).Bytes);
    }

    [Fact]
    public async Task Ended_jobs_are_counted_per_operation_and_result_with_cumulative_duration_buckets()
    {
        using var dir = new TempDir();
        var jobs = new JobManager(new DaemonConfig { StateDir = dir.Path }, NullLogger<JobManager>.Instance);
        var ended = new SemaphoreSlim(0);
        jobs.JobRemoved += (_, _) => ended.Release();
        jobs.Start("a", "start", _ => Task.CompletedTask);
        await ended.WaitAsync();
        jobs.Start("b", "start", _ => Task.CompletedTask);
        await ended.WaitAsync();
        jobs.Start("a", "update", _ => throw new ContainerDException(ErrorKind.BuildFailed, "no"));
        await ended.WaitAsync();

        var rows = jobs.Statistics.Snapshot();
        Assert.Equal([("start", "done", 2UL), ("update", "failed", 1UL)], rows.Select(r => (r.Operation, r.Result, r.Count)));
        foreach (var row in rows)
        {
            Assert.Equal(JobStatistics.Bounds.Count, row.Buckets.Length);
            // Cumulative: never fewer at a larger bound, and every one of these quick jobs under an hour.
            Assert.True(row.Buckets.Zip(row.Buckets.Skip(1)).All(p => p.First <= p.Second));
            Assert.Equal(row.Count, row.Buckets[^1]);
            Assert.InRange(row.Seconds, 0, 3600);
        }
    }

    [Fact]
    public void A_duration_lands_in_every_bucket_at_or_above_it()
    {
        var statistics = new JobStatistics();
        statistics.Record("create", JobResults.Done, TimeSpan.FromSeconds(4));
        statistics.Record("create", JobResults.Done, TimeSpan.FromSeconds(0.5));
        var row = statistics.Snapshot().Single();
        var counts = JobStatistics.Bounds.Zip(row.Buckets).ToDictionary(b => b.First, b => b.Second);
        Assert.Equal(0UL, counts[0.25]);
        Assert.Equal(1UL, counts[0.5]);
        Assert.Equal(1UL, counts[2.5]);
        Assert.Equal(2UL, counts[5]);
        Assert.Equal(4.5, row.Seconds, 9);
    }

    private static async Task Eventually(Func<Task<bool>> condition)
    {
        // The walker runs at the lowest priority: on a loaded machine it may wait a while for a CPU.
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(1);
        while (DateTime.UtcNow < deadline && !await condition())
        {
            await Task.Delay(10);
        }
        Assert.True(await condition());
    }
}
