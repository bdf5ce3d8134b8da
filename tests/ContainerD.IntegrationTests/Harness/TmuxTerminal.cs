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
    public static Task<TmuxTerminal> StartAsync(params string[] argv) => StartAsync(160, 50, argv);

    /// <summary>Starts argv (no shell) in a pane of width × height.</summary>
    public static async Task<TmuxTerminal> StartAsync(int width, int height, params string[] argv)
    {
        var terminal = new TmuxTerminal();
        await File.WriteAllTextAsync(terminal._config, "set -g remain-on-exit on\nset -g history-limit 5000\n");
        await terminal.TmuxAsync(["new-session", "-d", "-s", "test", "-x", width.ToString(CultureInfo.InvariantCulture),
            "-y", height.ToString(CultureInfo.InvariantCulture), "--", .. argv]);
        return terminal;
    }

    /// <summary>Types text, then Enter.</summary>
    public Task TypeLineAsync(string text) => TmuxAsync(["send-keys", "-t", "test", "-l", text + "\r"]);

    /// <summary>The whole pane, scrollback included, lines joined as they were wrapped.</summary>
    public Task<string> ScreenAsync() => TmuxAsync(["capture-pane", "-p", "-J", "-S", "-", "-t", "test"]);

    /// <summary>What the pane shows now, row by row as the terminal shows it (no scrollback, wrapped lines as two rows).</summary>
    public Task<string> VisibleAsync() => TmuxAsync(["capture-pane", "-p", "-t", "test"]);

    /// <summary>Waits for the program in the pane to end: its exit status (128+N when signal N killed it).</summary>
    public async Task<int> WaitForExitAsync(string what, TimeSpan? within = null)
    {
        int? status = null;
        await Eventually.TrueAsync(async () => (status = await ExitStatusAsync()) is not null, what, within ?? TimeSpan.FromSeconds(20));
        return status!.Value;
    }

    /// <summary>Null while the program in the pane runs; then its exit status.</summary>
    private async Task<int?> ExitStatusAsync()
    {
        string[] fields = (await TmuxAsync(["display-message", "-p", "-t", "test", "#{pane_dead_status}:#{pane_dead_signal}:#{pane_pid}"])).Trim().Split(':');
        if (fields[0].Length > 0)
        {
            return int.Parse(fields[0], CultureInfo.InvariantCulture);
        }
        if (fields[1].Length > 0)
        {
            return 128 + int.Parse(fields[1], CultureInfo.InvariantCulture);
        }
        // tmux 3.3a sometimes leaves the ended program unreaped for good (a zombie, its SIGCHLD
        // handled without a waitpid): the kernel still shows its wait status in /proc/PID/stat.
        return ZombieWaitStatus(fields[2]) is { } wait ? ((wait & 0x7f) == 0 ? (wait >> 8) & 0xff : 128 + (wait & 0x7f)) : null;
    }

    /// <summary>For a zombie, the wait status (stat's field 52, exit_code); null for a live process.</summary>
    private static int? ZombieWaitStatus(string pid)
    {
        string stat;
        try
        {
            stat = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (IOException)
        {
            return null; // reaped meanwhile: tmux has the status now
        }
        // After the command name in parentheses: field 3 (state) is first, field 52 is 50th.
        string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return fields[0] == "Z" ? int.Parse(fields[49], CultureInfo.InvariantCulture) : null;
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
