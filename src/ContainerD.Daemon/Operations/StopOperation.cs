using ContainerD.Daemon.Jobs;

namespace ContainerD.Daemon.Operations;

/// <summary>stop: asks init to power off and kills it after the timeout (the definition's stopTimeout when null); force kills at once.</summary>
public sealed class StopOperation(OperationKit kit)
{
    public const string Name = "stop";

    public Job Begin(string name, bool force, TimeSpan? timeout = null) =>
        kit.ForExisting(name, Name, (job, container) => kit.Runtime.StopAsync(job, container, force, timeout));
}
