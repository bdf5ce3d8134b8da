using System.Diagnostics;
using System.Text;
using ContainerD.IntegrationTests.Harness;

namespace ContainerD.IntegrationTests;

/// <summary>
/// Every CLI command that waits on the daemon (a job, logs -f, run, shell) notices when the daemon
/// goes away, says so in one line and exits 5 — it never waits forever. And shell ends at stdin's end.
/// </summary>
public sealed class DaemonGoneTests
{
    private const string Checks = "containers keep running. Check with 'containerctl jobs' and 'systemctl status containerctld'.";
    // Not a job's wait: there is no job to look up.
    private const string SessionChecks = "containers keep running. Check with 'systemctl status containerctld'.";

    [Fact]
    public async Task Create_waiting_on_a_slow_build_exits_5_when_the_daemon_is_killed()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        string file = Path.Combine(daemon.Dir, "slow.yaml");
        await File.WriteAllTextAsync(file, DaemonUnderTest.NixDefinition("slow", variant: Unique(), args: new Dictionary<string, string> { ["buildDelay"] = "60" }));
        using var cli = Cli(daemon, "create", "slow", "-f", file);
        await cli.WaitForOutputAsync("step 1 of 60");

        await daemon.KillAsync();

        var (exit, stderr) = await cli.WaitForExitAsync();
        Assert.True(exit == 5, $"exit {exit}: {stderr}");
        Assert.Contains($"containerctl: containerctld went away while job 1 (create slow) ran; {Checks}", stderr);
    }

    /// <summary>
    /// Killed while a snapshot holds the container frozen: the container does not keep running, it
    /// stays frozen until the daemon's next start thaws it — the one line says so.
    /// </summary>
    [Fact]
    public async Task A_snapshot_whose_daemon_dies_while_the_container_is_frozen_says_it_stays_frozen_until_the_next_start()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        using (var client = await daemon.ConnectAsync())
        {
            Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync("chill", DaemonUnderTest.NixDefinition("chill")))).Succeeded);
            Assert.True((await client.RunJobAsync(c => c.StartContainerAsync("chill"))).Succeeded);
        }
        await daemon.KillAsync();
        await daemon.StartProcessAsync(new Dictionary<string, string> { ["CONTAINERCTLD_CRASH_AT"] = "snapshot:copy-rootfs" });

        var snapshot = await daemon.CliAsync("snapshot", "chill", "cut");

        Assert.True(snapshot.ExitCode == 5, snapshot.ToString());
        Assert.Contains("went away while job", snapshot.Stderr);
        Assert.Contains($"{Checks} And if chill was running, it stays frozen until containerctld starts again, which thaws it.", snapshot.Stderr);
        Assert.Single(snapshot.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task Logs_follow_run_and_shell_exit_5_when_the_daemon_is_killed()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        string file = Path.Combine(daemon.Dir, "busy.yaml");
        await File.WriteAllTextAsync(file, DaemonUnderTest.NixDefinition("busy"));
        var create = await daemon.CliAsync("create", "busy", "-f", file, "--start");
        Assert.True(create.ExitCode == 0, create.ToString());

        using var logs = Cli(daemon, "logs", "busy", "-f");
        await logs.WaitForOutputAsync("init: system busy variant 1 up");
        using var run = Cli(daemon, "run", "busy", "--", "sleep", "600");
        using var shell = Cli(daemon, "shell", "busy"); // stdin stays open: the session would go on
        await shell.WaitForErrorAsync("Connected to busy");
        await Eventually.TrueAsync(async () => (await daemon.CliAsync("run", "busy", "--", "ps")).Stdout.Contains("sleep 600", StringComparison.Ordinal),
            "the run's sleep inside");

        await daemon.KillAsync();

        foreach (var (cli, what) in new[] { (logs, "following the console log of busy"), (run, "'sleep' ran in busy"), (shell, "the shell in busy was open") })
        {
            var (exit, stderr) = await cli.WaitForExitAsync();
            Assert.True(exit == 5, $"{what}: exit {exit}: {stderr}");
            Assert.Contains($"containerctl: containerctld went away while {what}; {SessionChecks}", stderr);
        }
    }

    [Fact]
    public async Task Shell_with_stdin_at_its_end_ends_the_session_and_exits()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        string file = Path.Combine(daemon.Dir, "quiet.yaml");
        await File.WriteAllTextAsync(file, DaemonUnderTest.NixDefinition("quiet"));
        Assert.Equal(0, (await daemon.CliAsync("create", "quiet", "-f", file, "--start")).ExitCode);

        // Cli.RunAsync gives the CLI an empty stdin, as </dev/null does.
        var shell = await daemon.CliAsync("shell", "quiet").WaitAsync(TimeSpan.FromSeconds(30));

        Assert.True(shell.ExitCode == 0, shell.ToString());
        Assert.Contains("Connected to quiet", shell.Stderr);
        Assert.Contains("Disconnected from quiet", shell.Stderr);
    }

    private static RunningCli Cli(DaemonUnderTest daemon, params string[] args) => new(daemon, args);

    /// <summary>containerctl running in the background, with its output collected and stdin kept open.</summary>
    private sealed class RunningCli : IDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _stdout = new();
        private readonly StringBuilder _stderr = new();

        public RunningCli(DaemonUnderTest daemon, string[] args)
        {
            var startInfo = new ProcessStartInfo(Repo.Cli)
            {
                RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false,
            };
            foreach (string arg in (string[])["--bus", daemon.Bus.Address, .. args])
            {
                startInfo.ArgumentList.Add(arg);
            }
            _process = Process.Start(startInfo)!;
            _process.OutputDataReceived += (_, e) => { lock (_stdout) { _stdout.AppendLine(e.Data); } };
            _process.ErrorDataReceived += (_, e) => { lock (_stderr) { _stderr.AppendLine(e.Data); } };
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
        }

        private string Stdout { get { lock (_stdout) { return _stdout.ToString(); } } }
        private string Stderr { get { lock (_stderr) { return _stderr.ToString(); } } }

        public async Task WaitForOutputAsync(string text)
        {
            await Eventually.TrueAsync(() => Stdout.Contains(text, StringComparison.Ordinal) || _process.HasExited, $"'{text}' on stdout", TimeSpan.FromSeconds(60));
            Assert.True(Stdout.Contains(text, StringComparison.Ordinal), $"containerctl exited before '{text}':\n{Stdout}\n{Stderr}");
        }

        public Task WaitForErrorAsync(string text) =>
            Eventually.TrueAsync(() => Stderr.Contains(text, StringComparison.Ordinal), $"'{text}' on stderr", TimeSpan.FromSeconds(30));

        /// <summary>Its exit status and stderr; a generous bound, so a CLI that waits forever fails the test instead of hanging it.</summary>
        public async Task<(int ExitCode, string Stderr)> WaitForExitAsync()
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            try
            {
                await _process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                return (-1, $"still running 20 s after the daemon went away; stderr so far:\n{Stderr}");
            }
            _process.WaitForExit();
            return (_process.ExitCode, Stderr);
        }

        public void Dispose()
        {
            if (!_process.HasExited)
            {
                _process.Kill();
            }
            _process.Dispose();
        }
    }

    private static string Unique() => Guid.NewGuid().ToString("N")[..10];
}
