using ContainerD.Contract;
using ContainerD.Daemon.Bus;
using ContainerD.Daemon.Containers;
using ContainerD.Daemon.Jobs;

namespace ContainerD.Daemon.Operations;

/// <summary>start: boots a stopped container with its network (ContainerRuntime.StartAsync). Its intent: forwards.nft, which recovery tears down when the container is not running.</summary>
public sealed class StartOperation(OperationKit kit) : IManagerVerb
{
    public const string Name = "start";

    public IReadOnlyList<string> Members { get; } = [Wire.Manager.StartContainer];

    public Func<Caller, ValueTask<Job>> Bind(ref CallArguments call)
    {
        string name = call.Name();
        return _ => new(Begin(name));
    }

    public Job Begin(string name) => kit.ForExisting(name, Name, (job, container) => kit.Runtime.StartAsync(job, container));
}
