using ContainerD.Daemon.Jobs;

namespace ContainerD.Daemon.Operations;

/// <summary>start: boots a stopped container with its network (ContainerRuntime.StartAsync). Its intent: forwards.nft, which recovery tears down when the container is not running.</summary>
public sealed class StartOperation(OperationKit kit)
{
    public const string Name = "start";

    public Job Begin(string name) => kit.ForExisting(name, Name, (job, container) => kit.Runtime.StartAsync(job, container));
}
