using ContainerD.Daemon.Containers;
using Microsoft.Extensions.Hosting;

namespace ContainerD.Daemon;

/// <summary>
/// The daemon's start-up, in its order. Before the host runs, once the bus name is owned: recovery
/// (every container loaded, what a crash interrupted finished or rolled back). Then BusService
/// publishes the objects and sends READY=1, and this service, started right after it, brings the
/// containers where they should be: the declarative definitions applied, the autostart containers
/// started, interrupted activations resumed — jobs whose signals now have a bus to go to.
/// </summary>
public sealed class StartupReconciler(ContainerService containers) : IHostedService
{
    /// <summary>Recovery, before anything is published.</summary>
    public Task RecoverAsync(CancellationToken cancellationToken) => containers.LoadAsync(cancellationToken);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        containers.ApplyDeclarativeDefinitions();
        containers.StartAutostartContainers();
        containers.ResumeInterruptedActivations();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
