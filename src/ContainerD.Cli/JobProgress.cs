using System.Diagnostics;

namespace ContainerD.Cli;

/// <summary>
/// A job's log as it arrives. On a terminal a live status line stays under the log (elapsed time,
/// derivations built, the latest line), as nix-build's own progress does; piped output gets the
/// plain lines only, so scripts and logs see no control characters.
/// </summary>
public sealed class JobProgress : IDisposable
{
    private const string ClearLine = "\r\u001b[K";
    private static readonly string[] Spinner = ["|", "/", "-", "\\"];
    private readonly Lock _lock = new();
    private readonly string _what;
    private readonly Stopwatch _elapsed = Stopwatch.StartNew();
    private readonly Timer? _timer;
    private int _built;
    private int _ticks;
    private string _latest = "";
    private readonly TextWriter _out;
    private bool _drawn;

    /// <param name="output">Where the log goes: stdout, or stderr when stdout carries data (export -).</param>
    public JobProgress(string what, bool live, TextWriter output)
    {
        _what = what;
        _out = output;
        if (live)
        {
            _timer = new Timer(_ => Redraw(), null, TimeSpan.FromMilliseconds(250), TimeSpan.FromMilliseconds(250));
        }
    }

    public void Line(string line)
    {
        // On a terminal, what a build or a container printed must not drive it: shown, not obeyed.
        if (_timer is not null)
        {
            line = ContainerD.Contract.TerminalText.Sanitize(line);
        }
        lock (_lock)
        {
            if (line.StartsWith("building '/nix/store/", StringComparison.Ordinal))
            {
                _built++;
            }
            _latest = line;
            Erase();
            _out.WriteLine(line);
        }
        Redraw();
    }

    public void Dispose()
    {
        _timer?.Dispose();
        lock (_lock)
        {
            Erase();
        }
    }

    private void Redraw()
    {
        if (_timer is null)
        {
            return;
        }
        lock (_lock)
        {
            string status = $"{Spinner[_ticks++ % Spinner.Length]} {_what}: {_elapsed.Elapsed.TotalSeconds:0}s"
                + (_built > 0 ? $", {_built} derivation{(_built == 1 ? "" : "s")} built" : "")
                + (_latest.Length > 0 ? $" — {_latest}" : "");
            int width = Math.Max(20, Console.WindowWidth - 1);
            _out.Write(ClearLine + (status.Length > width ? status[..width] : status));
            _out.Flush();
            _drawn = true;
        }
    }

    private void Erase()
    {
        if (_drawn)
        {
            _out.Write(ClearLine);
            _drawn = false;
        }
    }
}
