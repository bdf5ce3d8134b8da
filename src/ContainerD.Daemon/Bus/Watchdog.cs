using System.Globalization;
using Microsoft.Extensions.Logging;

namespace ContainerD.Daemon.Bus;

/// <summary>
/// systemd's watchdog (WatchdogSec= in the unit): every half interval, a health check; only when it
/// passes does the daemon send WATCHDOG=1. A hung daemon — a stuck bus loop, a deadlocked lock —
/// stops sending and systemd restarts it; a timer alone could not fail.
/// </summary>
public sealed class Watchdog(TimeSpan interval, Func<CancellationToken, Task> healthCheck, Action keepAlive, ILogger log)
{
    /// <summary>WATCHDOG_USEC as systemd sets it, when it is meant for this process (WATCHDOG_PID); else null.</summary>
    public static TimeSpan? IntervalFromEnvironment()
    {
        if (!long.TryParse(Environment.GetEnvironmentVariable("WATCHDOG_USEC"), NumberStyles.None, CultureInfo.InvariantCulture, out long usec) || usec <= 0)
        {
            return null;
        }
        if (Environment.GetEnvironmentVariable("WATCHDOG_PID") is { Length: > 0 } pid && pid != Environment.ProcessId.ToString(CultureInfo.InvariantCulture))
        {
            return null;
        }
        return TimeSpan.FromMicroseconds(usec);
    }

    public async Task RunAsync(CancellationToken stopping)
    {
        var period = interval / 2;
        log.LogInformation("watchdog: checking health every {Seconds:0.###} s", period.TotalSeconds);
        using var timer = new PeriodicTimer(period);
        int failed = 0;
        do
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(stopping);
            deadline.CancelAfter(period);
            try
            {
                await healthCheck(deadline.Token).ConfigureAwait(false);
                keepAlive();
                if (failed > 0)
                {
                    log.LogInformation("watchdog: the daemon answers on the bus again");
                }
                failed = 0;
            }
            catch (Exception e)
            {
                if (stopping.IsCancellationRequested)
                {
                    return;
                }
                // Each failed check is a line (systemd kills the daemon after two): what was and was not sent is in the log.
                if (++failed == 1)
                {
                    log.LogWarning("watchdog: the daemon did not answer its own call on the bus within {Seconds:0.###} s ({Reason}); not telling systemd it is alive",
                        period.TotalSeconds, e is OperationCanceledException ? "timed out" : e.Message);
                }
                else
                {
                    log.LogWarning("watchdog: still no answer on the bus ({Failed} checks in a row)", failed);
                }
            }
        }
        while (await WaitAsync(timer, stopping).ConfigureAwait(false));
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken stopping)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
