using ContainerD.Daemon.Jobs;

namespace ContainerD.Daemon.Operations;

/// <summary>restart: stop (init powers off) and start, as one job.</summary>
public sealed class RestartOperation(OperationKit kit)
{
    public const string Name = "restart";

    public Job Begin(string name) => kit.ForExisting(name, Name, async (job, container) =>
    {
        await kit.Runtime.StopAsync(job, container, force: false).ConfigureAwait(false);
        await kit.Runtime.StartAsync(job, container).ConfigureAwait(false);
    });
}
