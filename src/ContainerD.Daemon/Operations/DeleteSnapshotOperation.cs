using ContainerD.Contract;
using ContainerD.Daemon.Bus;
using ContainerD.Daemon.Containers;
using ContainerD.Daemon.Jobs;

namespace ContainerD.Daemon.Operations;

/// <summary>delete-snapshot: the snapshot's copy and its GC root go; the generation it ran is garbage once nothing else holds it.</summary>
public sealed class DeleteSnapshotOperation(OperationKit kit) : IManagerVerb
{
    public const string Name = "delete-snapshot";

    public IReadOnlyList<string> Members { get; } = [Wire.Manager.DeleteSnapshot];

    public Func<Caller, ValueTask<Job>> Bind(ref CallArguments call)
    {
        string name = call.Name(), snapshot = call.SnapshotName();
        return _ => new(Begin(name, snapshot));
    }

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
