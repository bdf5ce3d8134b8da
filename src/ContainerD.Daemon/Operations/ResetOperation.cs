using ContainerD.Contract;
using ContainerD.Daemon.Bus;
using ContainerD.Daemon.Containers;
using ContainerD.Daemon.Jobs;
using ContainerD.Domain.Operations;
using ContainerD.Os.Filesystem;
using Microsoft.Extensions.Logging;

namespace ContainerD.Daemon.Operations;

/// <summary>
/// reset: the writable root back to the empty skeleton a new container gets (its system, generations
/// and snapshots stay). A running container is stopped, reset and started. Intent: rootfs-swap
/// "skeleton" (RootfsSwap). Crash steps: CrashSteps.Reset*.
/// </summary>
public sealed class ResetOperation(OperationKit kit) : IManagerVerb
{
    public const string Name = "reset";

    public IReadOnlyList<string> Members { get; } = [Wire.Manager.ResetContainer];

    public Func<Caller, ValueTask<Job>> Bind(ref CallArguments call)
    {
        string name = call.Name();
        return _ => new(Begin(name));
    }

    public Job Begin(string name)
    {
        OperationKit.RefuseIfEphemeral(kit.Registry.Get(name), "reset");
        return kit.ForExisting(name, Name, StepsAsync);
    }

    /// <summary>Recovery of a rootfs-swap "skeleton": the reset done again, whole.</summary>
    public async Task FinishInterruptedAsync(Container container)
    {
        kit.Log.LogWarning("finishing the interrupted reset of container {Name}", container.Name);
        await ApplyAsync(container, recovering: true).ConfigureAwait(false);
        kit.RootfsSwap.ClearIntent(container.Name);
    }

    private async Task StepsAsync(Job job, Container container)
    {
        await kit.WhileStoppedAsync(job, container, Name, async () =>
        {
            FaultInjection.Before(CrashSteps.ResetWriteIntent);
            kit.RootfsSwap.WriteIntent(container.Name, RootfsSwap.Skeleton);
            await ApplyAsync(container, recovering: false).ConfigureAwait(false);
            kit.RootfsSwap.ClearIntent(container.Name);
            job.Log($"reset the root of {container.Name} to the empty skeleton");
        }).ConfigureAwait(false);
    }

    private Task ApplyAsync(Container container, bool recovering) =>
        kit.RootfsSwap.ReplaceAsync(container, replacement =>
        {
            Rootfs.Create(replacement, container.Ids.Start);
            return Task.CompletedTask;
        }, beforeExchange: recovering ? null : () => FaultInjection.Before(CrashSteps.ResetSwapRootfs));
}
