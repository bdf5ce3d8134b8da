using System.Globalization;
using ContainerD.Contract;
using ContainerD.Domain;
using ContainerD.Domain.Configuration;
using ContainerD.Os;
using Microsoft.Extensions.Logging;

namespace ContainerD.Daemon.Jobs;

/// <summary>How a job ended: its result, a message for people and the error's kind (null when done).</summary>
public sealed record JobOutcome(string Result, string Message, ErrorKind? Error)
{
    /// <summary>The D-Bus error name JobRemoved carries ("" when the job succeeded).</summary>
    public string ErrorName => Error is { } kind ? Errors.NameOf(kind.ToString()) : "";
}

/// <summary>
/// Runs jobs: at most one per container at a time (a second gets Busy at once — predictable for
/// scripts, and the message says which job to wait for), any number for different containers.
/// Job ids go on across daemon restarts, so a job's path is never reused: StateDir/last-job-id
/// holds the highest id reserved, IdBlock at a time (one fsync'd write per block, not per job); a
/// restarted daemon goes on after the block, skipping the ids the last one did not use.
/// </summary>
public sealed class JobManager(DaemonConfig config, ILogger<JobManager> log)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<uint, Job> _jobs = [];
    private readonly Dictionary<string, Job> _byContainer = new(StringComparer.Ordinal);
    private readonly AsyncLocal<string?> _caller = new();
    private uint? _lastId;
    private uint _reserved;

    /// <summary>How many ids one write of last-job-id reserves.</summary>
    public const uint IdBlock = 64;

    /// <summary>How the jobs that ended went, per operation and result.</summary>
    public JobStatistics Statistics { get; } = new();

    public event Action<Job>? JobNew;
    public event Action<Job, string>? JobLog;
    public event Action<Job, JobOutcome>? JobRemoved;

    private string LastIdFile => Path.Combine(config.StateDir, "last-job-id");

    /// <summary>Runs start with the client that asked for it as the caller of the jobs it starts.</summary>
    public T OnBehalfOf<T>(string? caller, Func<T> start)
    {
        string? outer = _caller.Value;
        _caller.Value = caller;
        try
        {
            return start();
        }
        finally
        {
            _caller.Value = outer;
        }
    }

    public IReadOnlyList<Job> List()
    {
        lock (_lock)
        {
            return _jobs.Values.OrderBy(j => j.Id).ToList();
        }
    }

    public Job Get(uint id)
    {
        lock (_lock)
        {
            return _jobs.TryGetValue(id, out var job) ? job : throw new ContainerDException(ErrorKind.NoSuchJob, $"there is no job {id}; it may have finished already");
        }
    }

    public Job? ActiveFor(string container)
    {
        lock (_lock)
        {
            return _byContainer.GetValueOrDefault(container);
        }
    }

    /// <summary>Starts work as a job for a container, or throws Busy when the container already has one.</summary>
    public Job Start(string container, string operation, Func<Job, Task> work)
    {
        Job job;
        lock (_lock)
        {
            if (_byContainer.TryGetValue(container, out var running))
            {
                throw new ContainerDException(ErrorKind.Busy,
                    $"container '{container}' is busy: job {running.Id} ({running.Operation}) is running; wait for it or cancel it with 'containerctl cancel {running.Id}'");
            }
            job = new Job(NextId(), container, operation, _caller.Value);
            job.OnLog = (j, line) => JobLog?.Invoke(j, line);
            _jobs[job.Id] = job;
            _byContainer[container] = job;
        }
        JobNew?.Invoke(job);
        _ = Task.Run(() => RunAsync(job, work));
        return job;
    }

    /// <summary>The next id, reserved on disk before it is handed out: a restarted daemon goes on after the reservation.</summary>
    private uint NextId()
    {
        if (_lastId is null)
        {
            _lastId = _reserved = ReadLastId();
        }
        uint last = _lastId.Value;
        uint id = last == uint.MaxValue ? 1 : last + 1;
        // Past the reservation, or wrapped around to 1 (below it): reserve the next block first.
        if (id > _reserved || id < last)
        {
            uint reserve = id > uint.MaxValue - (IdBlock - 1) ? uint.MaxValue : id + (IdBlock - 1);
            try
            {
                AtomicFile.Write(LastIdFile, reserve.ToString(CultureInfo.InvariantCulture) + "\n", UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A full disk must not stop jobs (destroy frees space): the ids of this run stay unique all the same.
                log.LogWarning("cannot record the last job id in {File}: {Message}", LastIdFile, e.Message);
            }
            _reserved = reserve;
        }
        _lastId = id;
        return id;
    }

    private uint ReadLastId()
    {
        try
        {
            return File.Exists(LastIdFile) && uint.TryParse(File.ReadAllText(LastIdFile).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out uint last)
                ? last : 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            log.LogWarning("cannot read {File}: {Message}; job ids start at 1", LastIdFile, e.Message);
            return 0;
        }
    }

    private async Task RunAsync(Job job, Func<Job, Task> work)
    {
        long started = System.Diagnostics.Stopwatch.GetTimestamp();
        JobOutcome outcome;
        try
        {
            await work(job).ConfigureAwait(false);
            outcome = new JobOutcome(JobResults.Done, "", null);
        }
        catch (OperationCanceledException) when (job.Canceled.IsCancellationRequested)
        {
            outcome = new JobOutcome(JobResults.Canceled, $"job {job.Id} ({job.Operation} {job.Container}) was canceled", ErrorKind.Canceled);
        }
        catch (ContainerDException e)
        {
            outcome = new JobOutcome(JobResults.Failed, e.Message, e.Kind);
        }
        catch (Exception e)
        {
            log.LogError(e, "job {Id} ({Operation} {Container}) failed unexpectedly", job.Id, job.Operation, job.Container);
            outcome = new JobOutcome(JobResults.Failed, e.Message, ErrorKind.Failed);
        }
        // Whatever a tool printed into the message: bus-safe and bounded, its tail kept (that is where errors are).
        outcome = outcome with { Message = BusText.Tail(outcome.Message, BusText.MaxMessageBytes) };
        job.State = outcome.Result;
        lock (_lock)
        {
            _jobs.Remove(job.Id);
            _byContainer.Remove(job.Container);
        }
        var took = System.Diagnostics.Stopwatch.GetElapsedTime(started);
        Statistics.Record(job.Operation, outcome.Result, took);
        log.LogInformation("job {Id} {Operation} {Container}: {Result} in {Milliseconds:0.0} ms {Message}", job.Id, job.Operation, job.Container,
            outcome.Result, took.TotalMilliseconds, outcome.Message);
        JobRemoved?.Invoke(job, outcome);
    }
}
