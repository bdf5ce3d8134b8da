using ContainerD.Daemon.Containers;
using ContainerD.Domain;
using ContainerD.Domain.Lxc;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ContainerD.Daemon.Startup;

/// <summary>
/// The daemon's start-up, in its order. Before the host runs, once the bus name is owned: recovery
/// (every container loaded, what a crash interrupted finished or rolled back). Then BusService
/// publishes the objects and sends READY=1, and this service, started right after it, brings the
/// containers where they should be: the declarative definitions applied, the autostart containers
/// started, interrupted activations resumed — jobs whose signals now have a bus to go to.
/// </summary>
public sealed class StartupReconciler(
    Recovery recovery,
    DeclarativeSync declarative,
    ContainerRegistry registry,
    Operations.Operations operations,
    Operations.OperationKit kit,
    ILogger<StartupReconciler> log) : IHostedService
{
    /// <summary>Recovery, before anything is published.</summary>
    public Task RecoverAsync(CancellationToken cancellationToken) => recovery.RunAsync(cancellationToken);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var changes = declarative.Apply();
        int started = StartAutostartContainers();
        operations.Activate.ResumeInterrupted();
        log.LogInformation("start-up done: declarative definitions: {Changes}; autostart: {Started} containers started", changes, started);
        return Task.CompletedTask;
    }

    /// <summary>SIGTERM: the jobs are not waited for, but no container is left frozen by one.</summary>
    public Task StopAsync(CancellationToken cancellationToken) => kit.ThawBeforeExitAsync();

    /// <summary>Every autostart container that is not running, started once, at daemon start; how many.</summary>
    private int StartAutostartContainers()
    {
        int started = 0;
        foreach (var container in registry.List().Where(c => c.Definition.Autostart && c.RunState != ContainerState.Running))
        {
            try
            {
                operations.Start.Begin(container.Name);
                started++;
            }
            catch (ContainerDException e)
            {
                log.LogWarning("autostart of {Name} not begun: {Message}", container.Name, e.Message);
            }
        }
        return started;
    }
}
