using ContainerD.Daemon.Bus;
using ContainerD.Daemon.Containers;
using ContainerD.Daemon.Jobs;
using Microsoft.Extensions.Logging;

namespace ContainerD.Daemon.Operations;

/// <summary>
/// Every verb that changes a container, one type each (its checks before the job, its steps, the
/// intent it persists and how recovery finishes or undoes it), and how each container's last job ended.
/// </summary>
public sealed class Operations
{
    private readonly OperationKit _kit;

    public Operations(OperationKit kit)
    {
        _kit = kit;
        Create = new CreateOperation(kit);
        Start = new StartOperation(kit);
        Stop = new StopOperation(kit);
        Restart = new RestartOperation(kit);
        Destroy = new DestroyOperation(kit);
        Update = new UpdateOperation(kit);
        Rollback = new RollbackOperation(kit);
        DeleteGenerations = new DeleteGenerationsOperation(kit);
        Activate = new ActivateOperation(kit);
        Snapshot = new SnapshotOperation(kit);
        DeleteSnapshot = new DeleteSnapshotOperation(kit);
        Restore = new RestoreOperation(kit);
        Reset = new ResetOperation(kit);
        Export = new ExportOperation(kit);
        Import = new ImportOperation(kit);
        Verbs = [Create, Start, Stop, Restart, Destroy, Update, Rollback, DeleteGenerations, Snapshot, DeleteSnapshot, Restore, Reset, Export, Import];
        kit.Jobs.JobRemoved += RecordLastJob;
    }

    public CreateOperation Create { get; }
    public StartOperation Start { get; }
    public StopOperation Stop { get; }
    public RestartOperation Restart { get; }
    public DestroyOperation Destroy { get; }
    public UpdateOperation Update { get; }
    public RollbackOperation Rollback { get; }
    public DeleteGenerationsOperation DeleteGenerations { get; }
    public ActivateOperation Activate { get; }
    public SnapshotOperation Snapshot { get; }
    public DeleteSnapshotOperation DeleteSnapshot { get; }
    public RestoreOperation Restore { get; }
    public ResetOperation Reset { get; }
    public ExportOperation Export { get; }
    public ImportOperation Import { get; }

    /// <summary>The verbs a client calls (Activate is recovery's and update's, not a method): the Manager routes each call to its verb.</summary>
    public IReadOnlyList<IManagerVerb> Verbs { get; }

    /// <summary>Keeps how each job ended with its container (LastJob), across daemon restarts.</summary>
    private void RecordLastJob(Job job, JobOutcome outcome)
    {
        if (_kit.Registry.Find(job.Container) is not { } container || container.State.Phase == Phase.Destroying)
        {
            return;
        }
        container.LastJob = $"{job.Operation} {outcome.Result}";
        container.LastJobMessage = outcome.Message;
        try
        {
            _kit.Store.WriteLastJob(container.Name, container.LastJob, container.LastJobMessage);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _kit.Log.LogWarning("cannot record the last job of {Name}: {Message}", container.Name, e.Message);
        }
        _kit.Registry.NotifyChanged(container);
    }
}
