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
    [GeneratedRegex(@"^'(?<name>[^']+)' changed state to \[(?<state>[A-Z]+)\]$")]
    private static partial Regex StateLine();

    /// <summary>"'web' changed state to [STOPPED]" → (web, Stopped); null for other lines.</summary>
    public static (string Name, ContainerState State)? ParseLine(string line)
    {
        var match = StateLine().Match(line.Trim());
        return match.Success ? (match.Groups["name"].Value, ContainerStateNames.FromLxc(match.Groups["state"].Value)) : null;
    }

    /// <summary>Runs until canceled, restarting lxc-monitor if it ever exits.</summary>
    public async Task RunAsync(Action<string, ContainerState> onChange, Action<string> onProblem, CancellationToken cancellationToken)
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
            while (await process.StandardOutput.ReadLineAsync(CancellationToken.None).ConfigureAwait(false) is { } line)
            {
                if (ParseLine(line) is { } change)
                {
                    onChange(change.Name, change.State);
                }
            }
            await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            if (!cancellationToken.IsCancellationRequested)
            {
                onProblem($"lxc-monitor exited with {process.ExitCode}: {await process.StandardError.ReadToEndAsync(CancellationToken.None).ConfigureAwait(false)}; restarting it");
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
