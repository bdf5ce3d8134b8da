using ContainerD.Daemon.Containers;
using ContainerD.Daemon.Jobs;
using ContainerD.Domain;
using ContainerD.Domain.Lxc;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ContainerD.Daemon.Startup;

/// <summary>
/// The daemon's start-up, in its order. Before the host runs, once the bus name is owned: recovery
/// (every container loaded, what a crash interrupted finished or rolled back). Then BusService
/// publishes the objects and sends READY=1, and this service, started right after it, brings the
/// containers where they should be: the declarative definitions applied, the autostart containers
/// started, interrupted activations resumed — jobs whose signals now have a bus to go to.
/// </summary>
public sealed class StartupReconciler(
    Recovery recovery,
    DeclarativeSync declarative,
    ContainerRegistry registry,
    Operations.Operations operations,
    Operations.OperationKit kit,
    JobManager jobs,
    ILogger<StartupReconciler> log) : IHostedService
{
    /// <summary>Recovery, before anything is published.</summary>
    public Task RecoverAsync(CancellationToken cancellationToken) => recovery.RunAsync(cancellationToken);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // What a crash left owed first: a declaration for a container busy with it is applied when
        // that job ends, and autostart waits for both.
        operations.Activate.ResumeInterrupted();
        var changes = declarative.Apply();
        int started = StartAutostartContainers();
        log.LogInformation("start-up done: declarative definitions: {Changes}; autostart: {Started} containers started", changes, started);
        return Task.CompletedTask;
    }

    /// <summary>SIGTERM: the jobs are not waited for, but no container is left frozen by one.</summary>
    public Task StopAsync(CancellationToken cancellationToken) => kit.ThawBeforeExitAsync();

    /// <summary>
    /// Every autostart container that is not running, started once, at daemon start; how many. One
    /// busy with a job begun just before (its declaration's update, a resumed activation) is started
    /// when that job ends, if its definition then says autostart and it is not running.
    /// </summary>
    private int StartAutostartContainers()
    {
        int started = 0;
        foreach (var container in registry.List().Where(c => c.RunState != ContainerState.Running))
        {
            if (jobs.ActiveFor(container.Name) is { } busy)
            {
                StartWhenEnded(container.Name, busy);
                continue;
            }
            if (container.Definition.Autostart && BeginAutostart(container.Name))
            {
                started++;
            }
        }
        return started;
    }

    private bool BeginAutostart(string name)
    {
        try
        {
            operations.Start.Begin(name);
            return true;
        }
        catch (ContainerDException e)
        {
            log.LogWarning("autostart of {Name} not begun: {Message}", name, e.Message);
            return false;
        }
    }

    private void StartWhenEnded(string name, Job busy)
    {
        int seen = 0;
        void OnRemoved(Job job, JobOutcome outcome)
        {
            // Once: the job may end between the watch and the check below, which then both see it.
            if (job.Id != busy.Id || Interlocked.Exchange(ref seen, 1) == 1)
            {
                return;
            }
            jobs.JobRemoved -= OnRemoved;
            // Not on the job's own thread: the start is the next job.
            _ = Task.Run(() =>
            {
                if (registry.Find(name) is { Definition.Autostart: true, RunState: not ContainerState.Running })
                {
                    log.LogInformation("autostart of {Name}: starting it now that job {Id} ({Operation}) has ended", name, job.Id, job.Operation);
                    BeginAutostart(name);
                }
            });
        }
        jobs.JobRemoved += OnRemoved;
        if (jobs.ActiveFor(name)?.Id != busy.Id)
        {
            // It ended before the watch began.
            OnRemoved(busy, new JobOutcome(busy.State, "", null));
        }
    }
}
