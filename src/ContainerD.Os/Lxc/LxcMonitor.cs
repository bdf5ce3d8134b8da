using System.Diagnostics;
using System.Text.RegularExpressions;
using ContainerD.Domain;

namespace ContainerD.Os.Lxc;

/// <summary>
/// LXC's own state events for a whole lxcpath, from one long-running lxc-monitor process: the
/// daemon learns that a container stopped on its own at once, without polling each container.
/// </summary>
public sealed partial class LxcMonitor(string lxcPath)
{
    [GeneratedRegex(@"^'(?<name>[^']+)' changed state to \[(?<state>[A-Z]+)\]\z")]
    private static partial Regex StateLine();

    /// <summary>"'web' changed state to [STOPPED]" → (web, Stopped); null for other lines.</summary>
    public static (string Name, ContainerState State)? ParseLine(string line)
    {
        var match = StateLine().Match(line.Trim());
        return match.Success ? (match.Groups["name"].Value, ContainerStateNames.FromLxc(match.Groups["state"].Value)) : null;
    }

    /// <summary>
    /// The name of the message the daemon sends itself through LXC's monitor FIFO to learn that
    /// lxc-monitor is connected: it starts with '-', so no container can have it.
    /// </summary>
    public const string ProbeName = "-containerctld-probe";

    /// <summary>How long the probe is tried before the monitor is taken as listening all the same (an LXC that never echoes it).</summary>
    private static readonly TimeSpan ProbeLimit = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Runs until canceled, restarting lxc-monitor if it ever exits. onListening is called each time
    /// an lxc-monitor is known to receive events (its probe came back): a change after that call is
    /// never missed, so what a caller reads then is current from there on.
    /// </summary>
    public async Task RunAsync(Action<string, ContainerState> onChange, Action<string> onProblem, CancellationToken cancellationToken,
        Action? onListening = null)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            var startInfo = new ProcessStartInfo("lxc-monitor")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (string arg in new[] { "-P", lxcPath, "-n", ".*" })
            {
                startInfo.ArgumentList.Add(arg);
            }
            // Dies with the daemon (a new daemon starts its own): kill -9 must not pile them up.
            using var process = new Process { StartInfo = startInfo };
            ContainerD.Os.Processes.ChildProcesses.Start(process);
            using var registration = cancellationToken.Register(() => process.Kill());
            using var probing = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            int listening = 0;
            void Listening()
            {
                if (Interlocked.Exchange(ref listening, 1) == 0)
                {
                    probing.Cancel();
                    onListening?.Invoke();
                }
            }
            var probe = ProbeAsync(Listening, onProblem, probing.Token);
            while (await process.StandardOutput.ReadLineAsync(CancellationToken.None).ConfigureAwait(false) is { } line)
            {
                if (ParseLine(line) is not { } change)
                {
                    continue;
                }
                if (change.Name == ProbeName)
                {
                    Listening();
                }
                else
                {
                    onChange(change.Name, change.State);
                }
            }
            probing.Cancel();
            await probe.ConfigureAwait(false);
            await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            if (!cancellationToken.IsCancellationRequested)
            {
                onProblem($"lxc-monitor exited with {process.ExitCode}: {await process.StandardError.ReadToEndAsync(CancellationToken.None).ConfigureAwait(false)}; restarting it");
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Sends a state message for ProbeName into lxc-monitord's FIFO until lxc-monitor prints it back
    /// (then it is connected) — lxc-monitor starts lxc-monitord and connects to it in its own time.
    /// </summary>
    private async Task ProbeAsync(Action listening, Action<string> onProblem, CancellationToken cancellationToken)
    {
        string fifo = Path.Join("/run/lxc", lxcPath, "monitor-fifo");
        byte[] message = ProbeMessage();
        var until = DateTime.UtcNow + ProbeLimit;
        try
        {
            while (DateTime.UtcNow < until)
            {
                Send(fifo, message);
                await Task.Delay(TimeSpan.FromMilliseconds(50), cancellationToken).ConfigureAwait(false);
            }
            onProblem($"lxc-monitor did not echo the daemon's probe through {fifo} within {ProbeLimit.TotalSeconds:0} s; taking it as listening");
            listening();
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>LXC's struct lxc_msg: int type (0, a state change), char name[NAME_MAX + 1], int value (0, STOPPED).</summary>
    internal static byte[] ProbeMessage()
    {
        byte[] message = new byte[4 + 256 + 4];
        System.Text.Encoding.ASCII.GetBytes(ProbeName).CopyTo(message, 4);
        return message;
    }

    private static void Send(string fifo, byte[] message)
    {
        // Non-blocking: without a reader (lxc-monitord not up yet) the open fails at once instead of waiting.
        int fd = Mono.Unix.Native.Syscall.open(fifo, Mono.Unix.Native.OpenFlags.O_WRONLY | Mono.Unix.Native.OpenFlags.O_NONBLOCK
            | Mono.Unix.Native.OpenFlags.O_CLOEXEC);
        if (fd < 0)
        {
            return;
        }
        try
        {
            unsafe
            {
                fixed (byte* bytes = message)
                {
                    Mono.Unix.Native.Syscall.write(fd, bytes, (ulong)message.Length);
                }
            }
        }
        finally
        {
            Mono.Unix.Native.Syscall.close(fd);
        }
    }
}
