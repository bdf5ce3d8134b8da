using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using ContainerD.Daemon.Containers;
using ContainerD.Domain.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Systemd;
using Microsoft.Extensions.Logging;

namespace ContainerD.Daemon;

/// <summary>
/// SIGHUP (<c>systemctl reload containerctld</c>: the unit's ExecReload sends it) applies the
/// declarative definitions again, as the daemon does at start: new files are created, changed ones
/// updated, removed ones warned about or pruned. Nothing else restarts: not the daemon, not its bus
/// connection, not a container whose file did not change. config.yaml is read only at start.
/// </summary>
public sealed class ReloadService(
    Startup.DeclarativeSync declarative,
    DaemonConfig config,
    ISystemdNotifier notifier,
    IHostApplicationLifetime lifetime,
    ILogger<ReloadService> log) : IHostedService, IDisposable
{
    private readonly SemaphoreSlim _requests = new(0);
    private readonly CancellationTokenSource _stopping = new();
    private PosixSignalRegistration? _registration;
    private Task? _loop;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // DaemonHost starts it before recovery, then the host starts it again: once is enough.
        if (_registration is not null)
        {
            return Task.CompletedTask;
        }
        // Registered first thing, so an early SIGHUP is queued rather than ending the process.
        _registration = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
        {
            context.Cancel = true;
            _requests.Release();
        });
        _loop = Task.Run(LoopAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    private async Task LoopAsync()
    {
        try
        {
            // A reload asked for during start-up waits for the start-up apply, then runs once.
            var started = new TaskCompletionSource();
            using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
            using (_stopping.Token.Register(() => started.TrySetCanceled()))
            {
                await started.Task.ConfigureAwait(false);
            }
            while (true)
            {
                await _requests.WaitAsync(_stopping.Token).ConfigureAwait(false);
                // Signals that came meanwhile are served by this one pass.
                while (_requests.Wait(0))
                {
                }
                Reload();
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    private void Reload()
    {
        // Type=notify: systemd shows "reloading" until READY=1 comes back.
        Notify($"RELOADING=1\nMONOTONIC_USEC={MonotonicMicroseconds().ToString(CultureInfo.InvariantCulture)}");
        try
        {
            log.LogInformation("reloading: applying the definitions in {Dir}", config.DefinitionsDir);
            var changes = declarative.Apply();
            log.LogInformation("reloaded: {Changes}", changes);
        }
        finally
        {
            Notify("READY=1");
        }
    }

    private void Notify(string state)
    {
        if (notifier.IsEnabled)
        {
            notifier.Notify(new ServiceState(state));
        }
    }

    // CLOCK_MONOTONIC, which Stopwatch reads on Linux.
    private static long MonotonicMicroseconds() => Stopwatch.GetTimestamp() / (Stopwatch.Frequency / 1_000_000);

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _registration?.Dispose();
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }
    }

    public void Dispose()
    {
        _registration?.Dispose();
        _stopping.Dispose();
        _requests.Dispose();
    }
}
