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
public sealed class LiveStateService(LxcTool lxc, ContainerService containers, ILogger<LiveStateService> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var monitor = new LxcMonitor(lxc.LxcPath);
        var running = monitor.RunAsync(OnChange, problem => log.LogWarning("{Problem}", problem), stoppingToken);
        // Catch what changed between loading the containers and the monitor's start.
        await Task.Delay(TimeSpan.FromMilliseconds(200), stoppingToken).ConfigureAwait(false);
        foreach (var container in containers.List())
        {
            await containers.RefreshAsync(container, stoppingToken).ConfigureAwait(false);
        }
        try
        {
            await running.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private void OnChange(string name, ContainerState state)
    {
        if (containers.Find(name) is { } container)
        {
            log.LogDebug("LXC: {Name} is {State}", name, state);
            _ = RefreshQuietlyAsync(container);
        }
    }

    private async Task RefreshQuietlyAsync(Container container)
    {
        try
        {
            await containers.RefreshAsync(container).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            log.LogWarning(e, "could not refresh the state of {Name}", container.Name);
        }
    }
}
