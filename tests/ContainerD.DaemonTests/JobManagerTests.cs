using System.Collections.Concurrent;
using ContainerD.Contract;
using ContainerD.Daemon.Jobs;
using ContainerD.Domain;
using ContainerD.Domain.Configuration;
using Microsoft.Extensions.Logging.Abstractions;

namespace ContainerD.DaemonTests;

/// <summary>Jobs: one per container at a time (Busy for a second), each ending once with its kind's error name.</summary>
public sealed class JobManagerTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly JobManager _jobs;
    private readonly ConcurrentDictionary<uint, TaskCompletionSource<JobOutcome>> _ends = new();
    private readonly ConcurrentQueue<uint> _new = new();

    public JobManagerTests()
    {
        _jobs = NewManager();
    }

    public void Dispose() => _dir.Dispose();

    private JobManager NewManager()
    {
        var jobs = new JobManager(new DaemonConfig { StateDir = _dir.Path }, NullLogger<JobManager>.Instance);
        jobs.JobNew += job => _new.Enqueue(job.Id);
        jobs.JobRemoved += (job, outcome) => End(job.Id).TrySetResult(outcome);
        return jobs;
    }

    private TaskCompletionSource<JobOutcome> End(uint id) =>
        _ends.GetOrAdd(id, static _ => new TaskCompletionSource<JobOutcome>(TaskCreationOptions.RunContinuationsAsynchronously));

    [Fact]
    public async Task A_second_job_on_a_busy_container_is_refused_at_once_and_names_the_running_job()
    {
        var gate = new TaskCompletionSource();
        var first = _jobs.Start("web", "update", _ => gate.Task);

        var busy = Assert.Throws<ContainerDException>(() => _jobs.Start("web", "start", _ => Task.CompletedTask));
        Assert.Equal(ErrorKind.Busy, busy.Kind);
        Assert.Equal($"container 'web' is busy: job {first.Id} (update) is running; wait for it or cancel it with 'containerctl cancel {first.Id}'", busy.Message);
        Assert.Equal([first.Id], _new);
        Assert.Equal([first.Id], _jobs.List().Select(j => j.Id));

        gate.SetResult();
        Assert.Equal(JobResults.Done, (await End(first.Id).Task).Result);
        // Free again once the job has ended.
        var next = _jobs.Start("web", "start", _ => Task.CompletedTask);
        Assert.Equal(JobResults.Done, (await End(next.Id).Task).Result);
    }

    [Fact]
    public async Task Jobs_on_different_containers_run_together()
    {
        var gate = new TaskCompletionSource();
        var a = _jobs.Start("a", "start", _ => gate.Task);
        var b = _jobs.Start("b", "start", _ => gate.Task);
        Assert.Equal(["running", "running"], _jobs.List().Select(j => j.State));
        gate.SetResult();
        Assert.Equal(JobResults.Done, (await End(a.Id).Task).Result);
        Assert.Equal(JobResults.Done, (await End(b.Id).Task).Result);
        Assert.Empty(_jobs.List());
    }

    [Fact]
    public async Task A_failure_ends_the_job_with_its_kinds_error_name_and_anything_else_is_Failed()
    {
        var build = _jobs.Start("a", "create", _ => throw new ContainerDException(ErrorKind.BuildFailed, "nix-build failed"));
        var bug = _jobs.Start("b", "create", _ => throw new InvalidOperationException("a bug"));

        var built = await End(build.Id).Task;
        Assert.Equal((JobResults.Failed, "nix-build failed", "io.containerctl.ContainerD1.Error.BuildFailed"), (built.Result, built.Message, built.ErrorName));
        var failed = await End(bug.Id).Task;
        Assert.Equal((JobResults.Failed, "a bug", "io.containerctl.ContainerD1.Error.Failed"), (failed.Result, failed.Message, failed.ErrorName));
        Assert.Equal(JobResults.Failed, build.State);
    }

    [Fact]
    public async Task A_canceled_job_ends_Canceled()
    {
        var job = _jobs.Start("a", "update", j => Task.Delay(Timeout.Infinite, j.Canceled));
        _jobs.Get(job.Id).Cancel();
        var outcome = await End(job.Id).Task;
        Assert.Equal((JobResults.Canceled, $"job {job.Id} (update a) was canceled", "io.containerctl.ContainerD1.Error.Canceled"),
            (outcome.Result, outcome.Message, outcome.ErrorName));
        Assert.Equal(ErrorKind.NoSuchJob, Assert.Throws<ContainerDException>(() => _jobs.Get(job.Id)).Kind);
    }

    [Fact]
    public async Task Job_ids_go_on_across_daemon_restarts_after_the_block_the_last_daemon_reserved()
    {
        string file = Path.Combine(_dir.Path, "last-job-id");
        var first = _jobs.Start("a", "start", _ => Task.CompletedTask);
        await End(first.Id).Task;
        Assert.Equal($"{first.Id + JobManager.IdBlock - 1}\n", File.ReadAllText(file));
        // The next jobs of the block write nothing.
        var written = File.GetLastWriteTimeUtc(file);
        File.SetLastWriteTimeUtc(file, written.AddDays(-1));
        for (int i = 0; i < 3; i++)
        {
            await End(_jobs.Start("a", "start", _ => Task.CompletedTask).Id).Task;
        }
        Assert.Equal(written.AddDays(-1), File.GetLastWriteTimeUtc(file));

        var next = NewManager().Start("a", "start", _ => Task.CompletedTask);
        Assert.Equal(first.Id + JobManager.IdBlock, next.Id);
        await End(next.Id).Task;
    }

    [Fact]
    public async Task Job_ids_wrap_around_to_1_and_a_restart_goes_on_after_the_new_block()
    {
        File.WriteAllText(Path.Combine(_dir.Path, "last-job-id"), $"{uint.MaxValue - 1}\n");
        var jobs = NewManager();
        var ids = new List<uint>();
        for (int i = 0; i < 2; i++)
        {
            var job = jobs.Start("a", "start", _ => Task.CompletedTask);
            ids.Add(job.Id);
            await End(job.Id).Task;
        }
        Assert.Equal([uint.MaxValue, 1u], ids);
        var next = NewManager().Start("a", "start", _ => Task.CompletedTask);
        Assert.Equal(1 + JobManager.IdBlock, next.Id);
        await End(next.Id).Task;
    }

    [Fact]
    public async Task A_job_started_on_behalf_of_a_caller_carries_it_and_its_log_is_bus_safe()
    {
        var lines = new ConcurrentQueue<string>();
        _jobs.JobLog += (_, line) => lines.Enqueue(line);
        var job = _jobs.OnBehalfOf(":1.42", () => _jobs.Start("a", "start", j =>
        {
            j.Log("nul \0 and a long line " + new string('x', BusText.MaxLineBytes));
            return Task.CompletedTask;
        }));
        await End(job.Id).Task;
        Assert.Equal(":1.42", job.Caller);
        string line = Assert.Single(lines);
        Assert.True(BusText.IsClean(line));
        Assert.True(System.Text.Encoding.UTF8.GetByteCount(line) <= BusText.MaxLineBytes);
        Assert.Null(_jobs.Start("b", "start", _ => Task.CompletedTask).Caller);
    }
}
