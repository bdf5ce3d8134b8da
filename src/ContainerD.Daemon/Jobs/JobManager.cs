using ContainerD.Contract;
using ContainerD.Domain;
using Microsoft.Extensions.Logging;

namespace ContainerD.Daemon.Jobs;

/// <summary>How a job ended.</summary>
public sealed record JobOutcome(string Result, string Message, ErrorKind? Error);

/// <summary>
/// Runs jobs: at most one per container at a time (a second gets Busy at once — predictable for
/// scripts, and the message says which job to wait for), any number for different containers.
/// </summary>
public sealed class JobManager(ILogger<JobManager> log)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<uint, Job> _jobs = [];
    private readonly Dictionary<string, Job> _byContainer = new(StringComparer.Ordinal);
    private uint _lastId;

    public event Action<Job>? JobNew;
    public event Action<Job, string>? JobLog;
    public event Action<Job, JobOutcome>? JobRemoved;

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
    public Job Start(string container, string operation, Func<Job, Task> work, Action? onBusy = null)
    {
        Job job;
        lock (_lock)
        {
            if (_byContainer.TryGetValue(container, out var running))
            {
                onBusy?.Invoke();
                throw new ContainerDException(ErrorKind.Busy,
                    $"container '{container}' is busy: job {running.Id} ({running.Operation}) is running; wait for it or cancel it with 'containerctl cancel {running.Id}'");
            }
            job = new Job(++_lastId, container, operation);
            job.OnLog = (j, line) => JobLog?.Invoke(j, line);
            _jobs[job.Id] = job;
            _byContainer[container] = job;
        }
        JobNew?.Invoke(job);
        _ = Task.Run(() => RunAsync(job, work));
        return job;
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
        job.State = outcome.Result;
        lock (_lock)
        {
            _jobs.Remove(job.Id);
            _byContainer.Remove(job.Container);
        }
        log.LogInformation("job {Id} {Operation} {Container}: {Result} in {Milliseconds:0.0} ms {Message}", job.Id, job.Operation, job.Container,
            outcome.Result, System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds, outcome.Message);
        JobRemoved?.Invoke(job, outcome);
    }
}
