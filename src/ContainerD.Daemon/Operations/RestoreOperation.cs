using ContainerD.Contract;
using ContainerD.Daemon.Bus;
using ContainerD.Daemon.Containers;
using ContainerD.Daemon.Jobs;
using ContainerD.Domain.Definitions;
using ContainerD.Domain.Operations;
using ContainerD.Domain;
using ContainerD.Os.Nix;
using Microsoft.Extensions.Logging;

namespace ContainerD.Daemon.Operations;

/// <summary>
/// restore: the snapshot's root replaces the container's, and the generation it ran is current
/// again (its definition with it). A running container is stopped, restored and started. Intent:
/// rootfs-swap naming the snapshot (RootfsSwap); past it, the restore is finished, now or at the
/// next start. Crash steps: CrashSteps.Restore*.
/// </summary>
public sealed class RestoreOperation(OperationKit kit) : IManagerVerb
{
    public const string Name = "restore";

    public IReadOnlyList<string> Members { get; } = [Wire.Manager.RestoreSnapshot];

    public Func<Caller, ValueTask<Job>> Bind(ref CallArguments call)
    {
        string name = call.Name(), snapshot = call.SnapshotName();
        return _ => new(Begin(name, snapshot));
    }

    public Job Begin(string name, string snapshot)
    {
        var info = kit.Snapshots.Get(kit.Registry.Get(name).Name, snapshot);
        return kit.ForExisting(name, Name, (job, container) => StepsAsync(job, container, info));
    }

    /// <summary>Recovery of a rootfs-swap naming a snapshot: the restore done again, whole.</summary>
    public async Task FinishInterruptedAsync(Container container, string snapshot, CancellationToken cancellationToken)
    {
        kit.Log.LogWarning("finishing the interrupted restore of container {Name} from snapshot {Snapshot}", container.Name, snapshot);
        await ApplyAsync(container, kit.Snapshots.Get(container.Name, snapshot), recovering: true, cancellationToken).ConfigureAwait(false);
        kit.RootfsSwap.ClearIntent(container.Name);
    }

    private async Task StepsAsync(Job job, Container container, SnapshotInfo info)
    {
        await kit.WhileStoppedAsync(job, container, Name, async () =>
        {
            FaultInjection.Before(CrashSteps.RestoreWriteIntent);
            kit.RootfsSwap.WriteIntent(container.Name, RootfsSwap.FromSnapshot(info.Name));
            await ApplyAsync(container, info, recovering: false, CancellationToken.None).ConfigureAwait(false);
            kit.RootfsSwap.ClearIntent(container.Name);
            job.Log($"restored {container.Name} from snapshot {info.Name}: its root, and generation {container.State.Generation} ({info.SystemPath})");
        }).ConfigureAwait(false);
    }

    /// <summary>Copy, exchange, generation: each step again from the start when recovering (the crash steps fire only in the job).</summary>
    private async Task ApplyAsync(Container container, SnapshotInfo info, bool recovering, CancellationToken cancellationToken)
    {
        string name = container.Name;
        if (!recovering)
        {
            FaultInjection.Before(CrashSteps.RestoreCopyRootfs);
        }
        await kit.RootfsSwap.ReplaceAsync(container, async replacement =>
        {
            Directory.CreateDirectory(replacement);
            Os.Filesystem.Rootfs.Chown(replacement, container.Ids.Start);
            await kit.AsContainerRoot.CopyTreeAsync(container.Ids, kit.Paths.SnapshotRootfs(name, info.Name), replacement, cancellationToken).ConfigureAwait(false);
        }, beforeExchange: recovering ? null : () => FaultInjection.Before(CrashSteps.RestoreSwapRootfs)).ConfigureAwait(false);
        if (!recovering)
        {
            FaultInjection.Before(CrashSteps.RestoreSetGeneration);
        }
        await SetGenerationAsync(container, info, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The snapshot's generation current again: switched to where the profile still has it, else set anew (its GC root kept it in the store).</summary>
    private async Task SetGenerationAsync(Container container, SnapshotInfo info, CancellationToken cancellationToken)
    {
        string name = container.Name, profile = kit.Paths.ProfileDir(name);
        if (File.Exists(kit.Paths.DeclarativeFile(name)) && container.State.Declarative)
        {
            // Its declaration file owns its definition, and so its system.
            kit.Log.LogInformation("container {Name} is declared in {File}: its root is restored, its generation stays", name, kit.Paths.DeclarativeFile(name));
            return;
        }
        int generation;
        if (NixTool.CurrentSystem(profile) == info.SystemPath && NixTool.CurrentGeneration(profile) is { } current)
        {
            generation = current;
        }
        else if (NixTool.ListGenerations(profile).Any(g => g.Number == info.Generation && g.StorePath == info.SystemPath))
        {
            await kit.Nix.SwitchGenerationAsync(profile, info.Generation, cancellationToken).ConfigureAwait(false);
            generation = info.Generation;
        }
        else
        {
            generation = await kit.Nix.SetProfileAsync(profile, info.SystemPath, cancellationToken).ConfigureAwait(false);
        }
        var definition = kit.Parse(info.Definition, name, container.State.Declarative);
        kit.Store.WriteDefinition(name, info.Definition);
        kit.Store.WriteGenerationDefinition(name, generation, info.Definition);
        container.SetDefinition(definition, info.Definition);
        kit.Profiles.CommitGeneration(container, generation, info.SystemPath, DefinitionHash.Of(info.Definition));
        // Stopped: it boots this generation at its next start; nothing to activate.
        kit.Profiles.ClearActivationPending(container);
    }
}
