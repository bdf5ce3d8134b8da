using ContainerD.Contract;
using ContainerD.Daemon.Bus;
using ContainerD.Daemon.Containers;
using ContainerD.Daemon.Jobs;
using ContainerD.Domain.Operations;
using ContainerD.Domain;

namespace ContainerD.Daemon.Operations;

/// <summary>
/// snapshot: the writable root copied (reflinked where the file system can) as the container's
/// root, a running container frozen meanwhile so the copy is one instant of it, with the generation
/// it runs kept alive against GC. Intent: none — snapshot.json, written last, is the commit; a dir
/// without it is removed at the next start. Crash steps: CrashSteps.Snapshot*.
/// </summary>
public sealed class SnapshotOperation(OperationKit kit) : IManagerVerb
{
    public const string Name = "snapshot";

    public IReadOnlyList<string> Members { get; } = [Wire.Manager.SnapshotContainer];

    public Func<Caller, ValueTask<Job>> Bind(ref CallArguments call)
    {
        string name = call.Name(), snapshot = call.SnapshotName();
        return _ => new(Begin(name, snapshot));
    }

    /// <param name="snapshot">Its name; empty names it by the time (UTC, to the second).</param>
    public Job Begin(string name, string snapshot)
    {
        var container = kit.Registry.Get(name);
        snapshot = snapshot.Length == 0 ? SnapshotName.ForTime(kit.Clock.GetUtcNow()) : SnapshotName.Require(snapshot);
        OperationKit.RefuseIfEphemeral(container, "snapshot");
        RefuseIfTaken(name, snapshot);
        return kit.ForExisting(name, Name, (job, c) => StepsAsync(job, c, snapshot));
    }

    private void RefuseIfTaken(string name, string snapshot)
    {
        if (kit.Snapshots.Exists(name, snapshot))
        {
            throw new ContainerDException(ErrorKind.AlreadyExists,
                $"container '{name}' has a snapshot '{snapshot}' already; pick another name or delete it with 'containerctl snapshot {name} --delete {snapshot}'");
        }
    }

    private async Task StepsAsync(Job job, Container container, string snapshot)
    {
        string name = container.Name;
        RefuseIfTaken(name, snapshot);
        string system = container.State.SystemPath ?? throw new ContainerDException(ErrorKind.Failed, $"container '{name}' has no system yet");
        string copy = kit.Snapshots.Prepare(name, snapshot, container.Ids.Start);
        try
        {
            await kit.WhileFrozenAsync(job, container, "its root is copied", async () =>
            {
                FaultInjection.Before(CrashSteps.SnapshotCopyRootfs);
                await kit.AsContainerRoot.CopyTreeAsync(container.Ids, kit.Paths.Rootfs(name), copy, job.Canceled).ConfigureAwait(false);
            }).ConfigureAwait(false);
            await kit.Nix.AddRootAsync(system, kit.Paths.SnapshotSystemLink(name, snapshot), job.Canceled).ConfigureAwait(false);
            FaultInjection.Before(CrashSteps.SnapshotCommit);
            kit.Snapshots.Commit(name, new SnapshotInfo
            {
                Name = snapshot,
                CreatedAt = kit.Clock.GetUtcNow(),
                Generation = container.State.Generation,
                SystemPath = system,
                Definition = container.DefinitionYaml,
            });
        }
        catch
        {
            kit.Snapshots.Delete(name, snapshot);
            throw;
        }
        job.Log($"snapshot {snapshot} of {name}: its root and generation {container.State.Generation}");
    }
}
