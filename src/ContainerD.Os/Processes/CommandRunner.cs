using System.Diagnostics;
using System.Text;

namespace ContainerD.Os.Processes;

/// <summary>The outcome of a finished command; output kept as the bytes the command wrote (within its bounds).</summary>
public sealed record CommandOutput(int ExitCode, byte[] Stdout, byte[] StderrBytes)
{
    public string StdoutText => Encoding.UTF8.GetString(Stdout);
    public string Stderr => Encoding.UTF8.GetString(StderrBytes);
    public bool Succeeded => ExitCode == 0;

    /// <summary>stdout passed its bound: Stdout holds its first bytes only.</summary>
    public bool StdoutCut { get; init; }

    /// <summary>stderr passed its bound: StderrBytes holds its last bytes only.</summary>
    public bool StderrCut { get; init; }

    /// <summary>stdout and stderr together passed CommandLimits.KillAfter, and the command was killed for it.</summary>
    public bool KilledForOutput { get; init; }

    /// <summary>The last lines of stderr, for an error message a person can read.</summary>
    public string StderrTail(int lines = 10)
    {
        var all = Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return string.Join("\n", all.TakeLast(lines));
    }
}

/// <summary>
/// What a command may make the daemon hold. Output is kept within bounds whatever the command
/// prints: stdout's head, stderr's tail, each streamed line cut at MaxLine. With KillAfter the
/// command is killed once stdout and stderr together pass it (RunCommand: exact output, or none).
/// </summary>
public sealed record CommandLimits(int MaxStdout, int MaxStderr, int MaxLine, long? KillAfter = null)
{
    /// <summary>For the host's tools (nix-build's log, lxc's errors): 4 MiB of stdout, the last 1 MiB of stderr.</summary>
    public static CommandLimits Default { get; } = new(4 << 20, 1 << 20, 4096);
}

/// <summary>
/// Runs a program with an argv array — never a shell string — and captures its output.
/// stderr lines can be streamed as they arrive (Nix build logs). Cancellation kills the process tree.
/// The command dies with the daemon (ChildProcesses) unless outlivesDaemon (lxc-start of a container).
/// </summary>
public static class CommandRunner
{
    /// <summary>Appended to a streamed line that was longer than the limit.</summary>
    public const string LineCutNote = " … [line cut]";

    public static async Task<CommandOutput> RunAsync(
        string program,
        IEnumerable<string> args,
        Action<string>? onStderrLine = null,
        CancellationToken cancellationToken = default,
        CommandLimits? limits = null,
        bool outlivesDaemon = false)
    {
        limits ??= CommandLimits.Default;
        var startInfo = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = "/",
        };
        foreach (string arg in args)
        {
            startInfo.ArgumentList.Add(arg);
        }

        using var process = new Process { StartInfo = startInfo };
        ChildProcesses.Start(process, outlivesDaemon);
        process.StandardInput.Close();

        using var tooMuch = new CancellationTokenSource();
        var budget = new OutputBudget(limits.KillAfter, tooMuch);
        var stdout = new BoundedCapture(limits.MaxStdout, keepTail: false);
        var stderr = new BoundedCapture(limits.MaxStderr, keepTail: true);
        Task stdoutTask = PumpAsync(process.StandardOutput.BaseStream, stdout, null, limits.MaxLine, budget);
        Task stderrTask = PumpAsync(process.StandardError.BaseStream, stderr, onStderrLine, limits.MaxLine, budget);

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, tooMuch.Token);
        try
        {
            await process.WaitForExitAsync(stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            Kill(process);
            await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            if (!tooMuch.IsCancellationRequested || cancellationToken.IsCancellationRequested)
            {
                await Task.WhenAll(stdoutTask, stderrTask).ConfigureAwait(false);
                throw;
            }
        }
        finally
        {
            await Task.WhenAll(stdoutTask, stderrTask).ConfigureAwait(false);
        }
        return new CommandOutput(process.ExitCode, stdout.ToArray(), stderr.ToArray())
        {
            StdoutCut = stdout.Cut,
            StderrCut = stderr.Cut,
            KilledForOutput = tooMuch.IsCancellationRequested,
        };
    }

    private static void Kill(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // It exited meanwhile.
        }
    }

    /// <summary>Keeps what a stream wrote within bounds, and hands lines to onLine as they arrive, each cut at maxLine.</summary>
    private static async Task PumpAsync(Stream source, BoundedCapture sink, Action<string>? onLine, int maxLine, OutputBudget budget)
    {
        var buffer = new byte[16384];
        var line = new MemoryStream();
        bool lineCut = false;
        int read;
        while ((read = await source.ReadAsync(buffer, CancellationToken.None).ConfigureAwait(false)) > 0)
        {
            if (budget.Take(read))
            {
                // Over the budget: the process is being killed; drain what is left without keeping it.
                continue;
            }
            sink.Write(buffer.AsSpan(0, read));
            if (onLine is null)
            {
                continue;
            }
            var chunk = buffer.AsSpan(0, read);
            int newline;
            while ((newline = chunk.IndexOf((byte)'\n')) >= 0)
            {
                Append(line, chunk[..newline], maxLine, ref lineCut);
                onLine(Line(line, lineCut).TrimEnd('\r'));
                line.SetLength(0);
                lineCut = false;
                chunk = chunk[(newline + 1)..];
            }
            Append(line, chunk, maxLine, ref lineCut);
        }
        if (onLine is not null && (line.Length > 0 || lineCut))
        {
            onLine(Line(line, lineCut));
        }
    }

    private static void Append(MemoryStream line, ReadOnlySpan<byte> part, int maxLine, ref bool cut)
    {
        int room = (int)Math.Max(0, maxLine - line.Length);
        if (part.Length > room)
        {
            cut = true;
            part = part[..room];
        }
        line.Write(part);
    }

    private static string Line(MemoryStream line, bool cut) =>
        Encoding.UTF8.GetString(line.GetBuffer(), 0, (int)line.Length) + (cut ? LineCutNote : "");

    /// <summary>Counts the bytes of both streams against KillAfter; past it, cancels once.</summary>
    private sealed class OutputBudget(long? limit, CancellationTokenSource exceeded)
    {
        private long _used;

        /// <summary>True when the budget is spent (the bytes are not to be kept).</summary>
        public bool Take(int bytes)
        {
            if (limit is not { } max)
            {
                return false;
            }
            if (Interlocked.Add(ref _used, bytes) <= max)
            {
                return false;
            }
            try
            {
                exceeded.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // The command has been waited for already.
            }
            return true;
        }
    }

    /// <summary>At most max bytes: the first ones (stdout) or the last ones (stderr, where errors are).</summary>
    private sealed class BoundedCapture(int max, bool keepTail)
    {
        private readonly MemoryStream _bytes = new();

        public bool Cut { get; private set; }

        public void Write(ReadOnlySpan<byte> data)
        {
            if (!keepTail)
            {
                int room = (int)Math.Max(0, max - _bytes.Length);
                if (data.Length > room)
                {
                    Cut = true;
                    data = data[..room];
                }
                _bytes.Write(data);
                return;
            }
            _bytes.Write(data);
            if (_bytes.Length > 2L * max)
            {
                Compact();
            }
        }

        public byte[] ToArray()
        {
            if (keepTail && _bytes.Length > max)
            {
                Compact();
            }
            return _bytes.ToArray();
        }

        private void Compact()
        {
            Cut = true;
            byte[] tail = _bytes.GetBuffer().AsSpan((int)_bytes.Length - max, max).ToArray();
            _bytes.SetLength(0);
            _bytes.Write(tail);
        }
    }
}
