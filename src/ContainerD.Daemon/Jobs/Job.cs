using ContainerD.Contract;

namespace ContainerD.Daemon.Jobs;

/// <summary>
/// One change to one container, running in the background: the D-Bus method returns the job's
/// path at once and the job's end arrives as JobRemoved, however long a Nix build takes.
/// </summary>
public sealed class Job(uint id, string container, string operation, string? caller = null)
{
    private readonly CancellationTokenSource _cancel = new();

    public uint Id { get; } = id;
    public string Container { get; } = container;
    public string Operation { get; } = operation;
    /// <summary>The unique bus name of the client that started the job; null for the daemon's own (declarative, autostart).</summary>
    public string? Caller { get; } = caller;
    public string State { get; internal set; } = "running";
    public CancellationToken Canceled => _cancel.Token;

    internal Action<Job, string>? OnLog { get; set; }

    /// <summary>
    /// A progress line, sent as JobLog. Whatever a build printed, the line is bus-safe and at most
    /// BusText.MaxLineBytes (a longer one is cut and says so).
    /// </summary>
    public void Log(string line) => OnLog?.Invoke(this, BusText.Safe(line, BusText.MaxLineBytes));

    public void Cancel() => _cancel.Cancel();
}
