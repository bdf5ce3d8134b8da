using ContainerD.Contract;
using ContainerD.Daemon.Bus;
using ContainerD.Daemon.Containers;
using ContainerD.Daemon.Jobs;
using ContainerD.Domain;

namespace ContainerD.Daemon.Operations;

/// <summary>stop: asks init to power off and kills it after the timeout (the definition's stopTimeout when null); force kills at once.</summary>
public sealed class StopOperation(OperationKit kit) : IManagerVerb
{
    public const string Name = "stop";

    /// <summary>StopContainer, and StopContainerWithTimeout, which says how long init has before it is killed.</summary>
    public IReadOnlyList<string> Members { get; } = [Wire.Manager.StopContainer, Wire.Manager.StopContainerWithTimeout];

    public Func<Caller, ValueTask<Job>> Bind(ref CallArguments call)
    {
        string name = call.Name();
        bool force = call.Bool();
        TimeSpan? timeout = null;
        if (call.Member == Wire.Manager.StopContainerWithTimeout)
        {
            uint seconds = call.UInt32();
            timeout = seconds <= Limits.StopTimeoutSeconds
                ? TimeSpan.FromSeconds(seconds)
                : throw new ContainerDException(ErrorKind.InvalidArgs,
                    $"a stop timeout of {seconds} s is out of range: give 0 to {Limits.StopTimeoutSeconds} seconds (a day)");
        }
        return _ => new(Begin(name, force, timeout));
    }

    public Job Begin(string name, bool force, TimeSpan? timeout = null) =>
        kit.ForExisting(name, Name, (job, container) => kit.Runtime.StopAsync(job, container, force, timeout));
}
