using ContainerD.Domain;
using ContainerD.Os.Lxc;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ContainerD.Daemon.Containers;

/// <summary>
/// Keeps each container's State and LeaderPid true when it changes behind the daemon's back (its
/// init exits, someone runs lxc-stop): LXC's monitor reports it, the container is refreshed, and
/// PropertiesChanged follows — within a second, with no per-container polling.
/// </summary>
public sealed class LiveStateService(LxcTool lxc, ContainerRegistry registry, ContainerRuntime runtime, ILogger<LiveStateService> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var monitor = new LxcMonitor(lxc.LxcPath);
        // Once lxc-monitor listens, every container is read once: that catches what changed between
        // loading the containers (or an lxc-monitor restart) and then; the events catch the rest.
        try
        {
            await monitor.RunAsync(OnChange, problem => log.LogWarning("{Problem}", problem), stoppingToken,
                onListening: () => _ = RefreshAllAsync(stoppingToken)).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task RefreshAllAsync(CancellationToken cancellationToken)
    {
        foreach (var container in registry.List())
        {
            try
            {
                await runtime.RefreshAsync(container, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                log.LogWarning(e, "could not refresh the state of {Name}", container.Name);
            }
        }
    }

    private void OnChange(string name, ContainerState state)
    {
        if (registry.Find(name) is { } container)
        {
            log.LogDebug("LXC: {Name} is {State}", name, state);
            _ = RefreshQuietlyAsync(container);
        }
    }

    private async Task RefreshQuietlyAsync(Container container)
    {
        try
        {
            await runtime.RefreshAsync(container).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            log.LogWarning(e, "could not refresh the state of {Name}", container.Name);
        }
    }
}
