using ContainerD.Contract;
using ContainerD.Daemon.Bus;
using ContainerD.Daemon.Containers;
using ContainerD.Daemon.Jobs;
using ContainerD.Domain.Operations;
using Microsoft.Extensions.Logging;

namespace ContainerD.Daemon.Operations;

/// <summary>
/// destroy: the container and all its files go, its range is freed. Intent: state.json with phase:
/// destroying, written first; past it the destroy is finished, now or at the next start. Crash
/// steps: CrashSteps.Destroy* (they fire only here, never in a failed create's undo or in recovery).
/// </summary>
public sealed class DestroyOperation(OperationKit kit) : IManagerVerb
{
    public const string Name = "destroy";

    public IReadOnlyList<string> Members { get; } = [Wire.Manager.DestroyContainer];

    public Func<Caller, ValueTask<Job>> Bind(ref CallArguments call)
    {
        string name = call.Name();
        return _ => new(Begin(name));
    }

    public Job Begin(string name)
    {
        kit.RefuseIfDeclared(kit.Registry.Get(name), "remove that file to destroy it (with pruneDeclarative: true the daemon destroys it at its next start)");
        return kit.ForExisting(name, Name, StepsAsync);
    }

    /// <summary>Recovery of phase: destroying — it had been asked for: killed at once (an init that ignores SIGPWR would hold up the start for its whole stop timeout) and removed.</summary>
    public Task FinishInterruptedAsync(string name, CancellationToken cancellationToken)
    {
        kit.Log.LogWarning("finishing the interrupted destroy of container {Name}", name);
        return kit.Runtime.RemoveAsync(name, cancellationToken, forceStop: true);
    }

    private async Task StepsAsync(Job job, Container container)
    {
        string name = container.Name;
        FaultInjection.Before(CrashSteps.DestroyMarkDestroying);
        kit.Store.MarkDestroying(name);
        container.SetState(container.State with { Phase = Phase.Destroying });
        FaultInjection.Before(CrashSteps.DestroyStop);
        await kit.Runtime.RemoveAsync(name, CancellationToken.None, job, beforeStep: BeforeRemovalStep).ConfigureAwait(false);
        job.Log($"destroyed container {name}; ids {container.Ids} are free again");
        kit.Registry.Remove(container);
    }

    private static void BeforeRemovalStep(RemovalStep step)
    {
        switch (step)
        {
            case RemovalStep.DeleteLxcDir:
                FaultInjection.Before(CrashSteps.DestroyDeleteLxcDir);
                break;
            case RemovalStep.DeleteProfile:
                FaultInjection.Before(CrashSteps.DestroyDeleteProfile);
                break;
            case RemovalStep.DeleteStateDir:
                FaultInjection.Before(CrashSteps.DestroyDeleteStateDir);
                break;
        }
    }
}
