using ContainerD.Contract;
using ContainerD.Daemon.Bus;
using ContainerD.Daemon.Containers;
using ContainerD.Daemon.Jobs;
using ContainerD.Domain.Operations;

namespace ContainerD.Daemon.Operations;

/// <summary>restart: stop (init powers off) and start, as one job.</summary>
public sealed class RestartOperation(OperationKit kit) : IManagerVerb
{
    public const string Name = "restart";

    public IReadOnlyList<string> Members { get; } = [Wire.Manager.RestartContainer];

    public Func<Caller, ValueTask<Job>> Bind(ref CallArguments call)
    {
        string name = call.Name();
        return _ => new(Begin(name));
    }

    public Job Begin(string name) => kit.ForExisting(name, Name, (job, container) =>
        kit.WhileStoppedAsync(job, container, Name, () =>
        {
            FaultInjection.Before(CrashSteps.RestartStart);
            return Task.CompletedTask;
        }, start: true));
}
