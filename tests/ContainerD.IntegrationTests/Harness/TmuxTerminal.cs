using System.Diagnostics;
using System.Globalization;

namespace ContainerD.IntegrationTests.Harness;

/// <summary>
/// A real terminal for interactive commands: a program runs in a pane of a private tmux server;
/// the test types into it and reads the screen, as a person at a terminal would.
/// </summary>
public sealed class TmuxTerminal : IAsyncDisposable
{
    private readonly string _socket = "ctd-test-" + Guid.NewGuid().ToString("N")[..12];
    private readonly string _config = Path.GetTempFileName();

    private TmuxTerminal()
    {
    }

    /// <summary>Starts argv (no shell) in a 160×50 pane that stays readable after the program exits.</summary>
    public static async Task<TmuxTerminal> StartAsync(params string[] argv)
    {
        var terminal = new TmuxTerminal();
        await File.WriteAllTextAsync(terminal._config, "set -g remain-on-exit on\nset -g history-limit 5000\n");
        await terminal.TmuxAsync(["new-session", "-d", "-s", "test", "-x", "160", "-y", "50", "--", .. argv]);
        return terminal;
    }

    /// <summary>Types text, then Enter.</summary>
    public Task TypeLineAsync(string text) => TmuxAsync(["send-keys", "-t", "test", "-l", text + "\r"]);

    /// <summary>The whole pane, scrollback included, lines joined as they were wrapped.</summary>
    public Task<string> ScreenAsync() => TmuxAsync(["capture-pane", "-p", "-J", "-S", "-", "-t", "test"]);

    /// <summary>Null while the program in the pane runs; then its exit status (128+N when signal N killed it).</summary>
    public async Task<int?> ExitStatusAsync()
    {
        string[] fields = (await TmuxAsync(["display-message", "-p", "-t", "test", "#{pane_dead}:#{pane_dead_status}:#{pane_dead_signal}"])).Trim().Split(':');
        // tmux may mark the pane dead (its pty closed) a moment before it has reaped the program.
        return (fields[0], fields[1], fields[2]) switch
        {
            ("1", { Length: > 0 } status, _) => int.Parse(status, CultureInfo.InvariantCulture),
            ("1", _, { Length: > 0 } signal) => 128 + int.Parse(signal, CultureInfo.InvariantCulture),
            _ => null,
        };
    }

    public async Task<string> WaitForScreenAsync(Func<string, bool> condition, string what, TimeSpan? within = null)
    {
        string screen = "";
        try
        {
            await Eventually.TrueAsync(async () => condition(screen = await ScreenAsync()), what, within ?? TimeSpan.FromSeconds(20));
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}; the screen was:\n{screen}", e);
        }
        return screen;
    }

    public async ValueTask DisposeAsync()
    {
        await TmuxAsync(["kill-server"], check: false);
        File.Delete(_config);
    }

    private async Task<string> TmuxAsync(string[] args, bool check = true)
    {
        var startInfo = new ProcessStartInfo("tmux") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string arg in (string[])["-L", _socket, "-f", _config, .. args])
        {
            startInfo.ArgumentList.Add(arg);
        }
        using var process = Process.Start(startInfo)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        string stderr = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (check && process.ExitCode != 0)
        {
            throw new InvalidOperationException($"tmux {string.Join(' ', args)} failed ({process.ExitCode}): {stderr}");
        }
        return await stdout;
    }
}
