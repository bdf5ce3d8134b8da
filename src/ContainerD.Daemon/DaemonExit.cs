using Microsoft.Extensions.Hosting;

namespace ContainerD.Daemon;

/// <summary>
/// How the daemon ends when something it cannot live without goes away (its bus connection): stop
/// the host with a non-zero status, so that systemd's Restart=on-failure brings it back and it
/// re-adopts the containers. Should the orderly stop hang, the process exits anyway.
/// </summary>
public sealed class DaemonExit(IHostApplicationLifetime lifetime)
{
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(10);
    private int _code;

    /// <summary>0 unless Fail was called: the status the daemon exits with.</summary>
    public int Code => Volatile.Read(ref _code);

    public bool Failed => Code != 0;

    public void Fail(int code)
    {
        if (Interlocked.CompareExchange(ref _code, code, 0) != 0)
        {
            return;
        }
        lifetime.StopApplication();
        _ = Task.Run(async () =>
        {
            await Task.Delay(StopGrace).ConfigureAwait(false);
            Environment.Exit(code);
        });
    }
}
