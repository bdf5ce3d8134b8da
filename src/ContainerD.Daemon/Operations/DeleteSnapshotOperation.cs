using ContainerD.Daemon.Jobs;

namespace ContainerD.Daemon.Operations;

/// <summary>delete-snapshot: the snapshot's copy and its GC root go; the generation it ran is garbage once nothing else holds it.</summary>
public sealed class DeleteSnapshotOperation(OperationKit kit)
{
    public const string Name = "delete-snapshot";

    public Job Begin(string name, string snapshot)
    {
        kit.Snapshots.Get(kit.Registry.Get(name).Name, snapshot);
        return kit.ForExisting(name, Name, (job, container) =>
        {
            kit.Snapshots.Get(name, snapshot);
            kit.Snapshots.Delete(name, snapshot);
            job.Log($"deleted snapshot {snapshot} of {name}");
            return Task.CompletedTask;
        });
    }
}
