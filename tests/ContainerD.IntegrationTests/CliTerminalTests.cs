using System.Diagnostics;
using System.Text.RegularExpressions;
using ContainerD.IntegrationTests.Harness;

namespace ContainerD.IntegrationTests;

/// <summary>
/// The CLI where a terminal or time matters: shell through a real pty (tmux), logs -f, the live
/// progress line (terminal) against plain lines (pipe), jobs and cancel, stop --timeout, help.
/// </summary>
public sealed class CliTerminalTests
{
    [Fact]
    public async Task Shell_gives_an_interactive_root_login_inside_through_a_real_terminal()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        await CreateRunningAsync(daemon, "shelly");

        await using var terminal = await TmuxTerminal.StartAsync(Repo.Cli, "--bus", daemon.Bus.Address, "shell", "shelly");
        await terminal.WaitForScreenAsync(s => s.Contains("Connected to shelly"), "the shell's greeting");
        // Typed keys reach a shell inside: arithmetic the shell does, the container's hostname, its uid map.
        await terminal.TypeLineAsync("echo sum=$((6*7)) host=$(hostname) map=$(cat /proc/self/uid_map | tr -s ' ' ,)");
        string screen = await terminal.WaitForScreenAsync(s => s.Contains("sum=42"), "the command's output");
        Assert.Matches(@"sum=42 host=shelly map=,0,\d+,65536", screen);
        // It is a terminal inside too: tty names a pty device, not "not a tty".
        await terminal.TypeLineAsync("tty");
        await terminal.WaitForScreenAsync(s => s.Contains("/dev/pts/"), "tty inside");

        await terminal.TypeLineAsync("exit");
        await terminal.WaitForScreenAsync(s => s.Contains("Disconnected from shelly"), "the end of the session");
        Assert.Equal(0, await terminal.WaitForExitAsync("containerctl exiting"));
        await Eventually.TrueAsync(() => daemon.Output.Contains("in container shelly ended"), "the daemon reaping the session");
    }

    [Fact]
    public async Task Logs_prints_the_console_and_follow_shows_a_line_written_after_it_started()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        await CreateRunningAsync(daemon, "talker");

        // The init writes its greeting a moment after the start job ends: wait for it, then check `logs` shows it.
        CliResult logs = null!;
        await Eventually.TrueAsync(async () =>
        {
            logs = await daemon.CliAsync("logs", "talker");
            return logs.ExitCode != 0 || logs.Stdout.Contains("up as uid", StringComparison.Ordinal);
        }, "the init's greeting in the console log");
        Assert.True(logs.ExitCode == 0, logs.ToString());
        Assert.Contains("init: system talker variant 1 up", logs.Stdout);

        using var follow = StartCli(daemon, "logs", "talker", "-f");
        var output = new System.Text.StringBuilder();
        follow.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        follow.BeginOutputReadLine();
        await Eventually.TrueAsync(() => { lock (output) { return output.ToString().Contains("up as uid"); } }, "the log so far");
        string marker = "written-later-" + Guid.NewGuid().ToString("N")[..8];
        var write = await daemon.CliAsync("run", "talker", "--", "sh", "-c", $"echo {marker} > /dev/console");
        Assert.True(write.ExitCode == 0, write.ToString());
        await Eventually.TrueAsync(() => { lock (output) { return output.ToString().Contains(marker); } }, "the new console line in logs -f");
        Assert.False(follow.HasExited, "logs -f keeps following");
        follow.Kill();
    }

    [Fact]
    public async Task Logs_follow_piped_into_a_reader_that_goes_away_ends_as_logs_f_piped_to_head_should()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        await CreateRunningAsync(daemon, "chatty");
        using var follow = StartCli(daemon, "logs", "chatty", "-f");
        async Task<bool> ConsoleLineThen(Task happened)
        {
            var write = await daemon.CliAsync("run", "chatty", "--", "sh", "-c", "echo another line > /dev/console");
            Assert.True(write.ExitCode == 0, write.ToString());
            return happened.IsCompleted;
        }

        // `containerctl logs chatty -f | head -1`: the reader takes a line and closes its end of the pipe.
        var first = follow.StandardOutput.ReadLineAsync();
        await Eventually.TrueAsync(() => ConsoleLineThen(first), "logs -f printing a line", TimeSpan.FromSeconds(20));
        follow.StandardOutput.Close();

        // The next lines meet the closed pipe: logs -f ends, instead of following the log for nobody.
        var exited = follow.WaitForExitAsync();
        await Eventually.TrueAsync(() => ConsoleLineThen(exited), "logs -f ending once its reader went away", TimeSpan.FromSeconds(20));
        Assert.Equal(0, follow.ExitCode);
    }

    [Fact]
    public async Task A_build_shows_a_live_progress_line_on_a_terminal_and_plain_lines_when_piped()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        string slow = Path.Combine(daemon.Dir, "slow.yaml");
        await File.WriteAllTextAsync(slow, DaemonUnderTest.NixDefinition("slowpoke", variant: Unique(), args: new Dictionary<string, string> { ["buildDelay"] = "3" }));

        await using (var terminal = await TmuxTerminal.StartAsync(Repo.Cli, "--bus", daemon.Bus.Address, "create", "slowpoke", "-f", slow))
        {
            // While Nix builds, the bottom line says what runs and for how long; log lines scroll above it.
            string during = await terminal.WaitForScreenAsync(
                s => s.Contains("step 1 of 3") && Regex.IsMatch(s, @"create slowpoke: \d+s"), "the build's log with the progress line under it");
            Assert.True(during.IndexOf("step 1 of 3", StringComparison.Ordinal) < Regex.Match(during, @"create slowpoke: \d+s").Index, during);
            int exit = await terminal.WaitForExitAsync("the create ending", TimeSpan.FromSeconds(60));
            string after = await terminal.ScreenAsync();
            Assert.True(exit == 0, after);
            Assert.Contains("slowpoke: created", after);
            Assert.DoesNotMatch(@"create slowpoke: \d+s", after); // the progress line is gone at the end
        }

        // Piped: the same log, line by line, without a control character.
        await File.WriteAllTextAsync(slow, DaemonUnderTest.NixDefinition("slowpoke", variant: Unique(), args: new Dictionary<string, string> { ["buildDelay"] = "2" }));
        var piped = await daemon.CliAsync("update", "slowpoke", "-f", slow);
        Assert.True(piped.ExitCode == 0, piped.ToString());
        Assert.Contains("step 2 of 2\n", piped.Stdout);
        Assert.DoesNotContain('\u001b', piped.Stdout);
        Assert.DoesNotContain('\r', piped.Stdout);
    }

    [Fact]
    public async Task Jobs_lists_a_running_build_and_cancel_stops_it_leaving_no_generation()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        await CreateRunningAsync(daemon, "patient");
        string slow = Path.Combine(daemon.Dir, "slow.yaml");
        await File.WriteAllTextAsync(slow, DaemonUnderTest.NixDefinition("patient", variant: Unique(), args: new Dictionary<string, string> { ["buildDelay"] = "60" }));

        var started = await daemon.CliAsync("update", "patient", "-f", slow, "--no-block");
        Assert.True(started.ExitCode == 0, started.ToString());
        string job = started.Stdout.Trim();
        Assert.StartsWith("/io/containerctl/ContainerD1/job/", job);
        string id = job[(job.LastIndexOf('/') + 1)..];

        var jobs = await daemon.CliAsync("jobs");
        Assert.Matches($@"(?m)^{id}\s+patient\s+update\s+running$", jobs.Stdout);

        var cancel = await daemon.CliAsync("cancel", id);
        Assert.True(cancel.ExitCode == 0, cancel.ToString());
        await Eventually.TrueAsync(async () => (await daemon.CliAsync("jobs")).Stdout == "No jobs running.\n", "the job ending");
        var status = await daemon.CliAsync("status", "patient");
        Assert.Contains("Generation: 1", status.Stdout);
        Assert.Contains("Last job: update canceled", status.Stdout);

        var unknown = await daemon.CliAsync("cancel", "4242");
        Assert.Equal(3, unknown.ExitCode);
        var bad = await daemon.CliAsync("cancel", "soon");
        Assert.Equal(2, bad.ExitCode);
    }

    [Fact]
    public async Task Stop_with_a_timeout_kills_a_container_whose_init_ignores_the_power_off()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        await CreateRunningAsync(daemon, "stubborn");
        // Freeze init from the host: the power-off signal waits, unanswered, until the timeout's kill.
        using (var client = await daemon.ConnectAsync())
        {
            uint pid = (await client.ListContainersAsync()).Single().LeaderPid;
            var freeze = await Programs.Run("kill", "-STOP", pid.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Assert.True(freeze.ExitCode == 0, freeze.Stderr);
        }

        var stop = await daemon.CliAsync("stop", "stubborn", "--timeout", "2");
        Assert.True(stop.ExitCode == 0, stop.ToString());
        Assert.Contains("stopped", (await daemon.CliAsync("list")).Stdout);
        // The given timeout was used, not the definition's own stopTimeout (10 s).
        Assert.Contains("container stubborn did not power off within 2 s: killed it", stop.Stdout);

        Assert.Equal(2, (await daemon.CliAsync("stop", "stubborn", "--timeout", "soon")).ExitCode);
    }

    [Fact]
    public async Task Every_command_has_help_with_an_example()
    {
        foreach (string command in (string[])["list", "status", "create", "start", "stop", "restart", "destroy", "update",
            "rollback", "generations", "run", "shell", "logs", "jobs", "cancel", "top", "events", "metrics"])
        {
            var help = await Cli.RunAsync([command, "--help"]);
            Assert.True(help.ExitCode == 0, $"{command}: {help}");
            Assert.StartsWith($"usage: containerctl {command}", help.Stdout);
            Assert.Contains("example: containerctl " + command, help.Stdout);
        }
        var overview = await Cli.RunAsync(["--help"]);
        Assert.Contains("shell NAME", overview.Stdout);
    }

    [Fact]
    public async Task Bash_completion_offers_commands_options_and_the_daemons_container_names()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        await CreateRunningAsync(daemon, "alpha");
        await CreateRunningAsync(daemon, "alpine");

        async Task<string[]> CompleteAsync(params string[] words)
        {
            // bash runs the completion function as it would on Tab; the words arrive as arguments.
            const string script = """
                source "$1"; shift
                COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
                _containerctl; printf '%s\n' "${COMPREPLY[@]}"
                """;
            var startInfo = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (string arg in (string[])["-c", script, "bash", Path.Combine(Repo.Root, "contrib", "containerctl.bash"), "containerctl", .. words])
            {
                startInfo.ArgumentList.Add(arg);
            }
            startInfo.Environment["PATH"] = Path.GetDirectoryName(Repo.Cli) + ":" + Environment.GetEnvironmentVariable("PATH");
            using var bash = Process.Start(startInfo)!;
            string output = await bash.StandardOutput.ReadToEndAsync();
            await bash.WaitForExitAsync();
            return output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal).ToArray();
        }

        Assert.Equal(["reset", "restart", "restore", "rollback", "run"], await CompleteAsync("r"));
        Assert.Equal(["--force", "--help", "--no-block", "--timeout"], await CompleteAsync("stop", "--"));
        Assert.Equal(["cpu", "io", "memory", "tasks"], await CompleteAsync("top", "--sort", ""));
        Assert.Equal(["alpha", "alpine"], await CompleteAsync("--bus", daemon.Bus.Address, "events", "al"));
        Assert.Equal(["alpha", "alpine"], await CompleteAsync("--bus", daemon.Bus.Address, "shell", "al"));
        Assert.Equal(["alpine"], await CompleteAsync("--bus", daemon.Bus.Address, "logs", "alpi"));
    }

    private static async Task CreateRunningAsync(DaemonUnderTest daemon, string name)
    {
        string file = Path.Combine(daemon.Dir, name + ".yaml");
        await File.WriteAllTextAsync(file, DaemonUnderTest.NixDefinition(name));
        var create = await daemon.CliAsync("create", name, "-f", file, "--start");
        Assert.True(create.ExitCode == 0, create.ToString());
    }

    private static Process StartCli(DaemonUnderTest daemon, params string[] args)
    {
        var startInfo = new ProcessStartInfo(Repo.Cli) { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (string arg in (string[])["--bus", daemon.Bus.Address, .. args])
        {
            startInfo.ArgumentList.Add(arg);
        }
        return Process.Start(startInfo)!;
    }

    /// <summary>A variant no earlier run built: the build really runs (and takes its delay).</summary>
    private static string Unique() => Guid.NewGuid().ToString("N")[..10];
}
