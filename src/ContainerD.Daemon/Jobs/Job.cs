using ContainerD.Contract;

namespace ContainerD.Daemon.Jobs;

/// <summary>
/// One change to one container, running in the background: the D-Bus method returns the job's
/// path at once and the job's end arrives as JobRemoved, however long a Nix build takes.
/// </summary>
public sealed class Job(uint id, string container, string operation, string? caller = null)
{
    private const int KeptLogLines = 200;
    private readonly Queue<string> _log = new();
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
    /// A progress line: sent as JobLog and kept for the failure message. Whatever a build printed,
    /// the line is bus-safe and at most BusText.MaxLineBytes (a longer one is cut and says so);
    /// only the last lines are kept.
    /// </summary>
    public void Log(string line)
    {
        line = BusText.Safe(line, BusText.MaxLineBytes);
        lock (_log)
        {
            _log.Enqueue(line);
            if (_log.Count > KeptLogLines)
            {
                _log.Dequeue();
            }
        }
        OnLog?.Invoke(this, line);
    }

    public IReadOnlyList<string> RecentLog(int lines)
    {
        lock (_log)
        {
            return _log.TakeLast(lines).ToList();
        }
    }

    public void Cancel() => _cancel.Cancel();
}
