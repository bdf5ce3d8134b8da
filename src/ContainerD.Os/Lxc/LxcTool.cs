using System.Globalization;
using ContainerD.Domain;
using ContainerD.Os.Processes;
using ContainerD.Os.Terminal;
using Microsoft.Win32.SafeHandles;

namespace ContainerD.Os.Lxc;

/// <summary>What LXC reports about one container.</summary>
public sealed record LxcStatus(ContainerState State, int Pid);

/// <summary>
/// Container lifecycle through LXC's tools, all on one lxcpath. lxc-start -d hands the
/// container to its own monitor process, so containers outlive the daemon. The tools run through
/// runner (real processes unless a test scripts them).
/// </summary>
public sealed class LxcTool(string lxcPath, ICommandRunner? runner = null)
{
    private readonly ICommandRunner _run = runner ?? ProcessRunner.Instance;

    public string LxcPath { get; } = lxcPath;

    public string ContainerDir(string name) => Path.Combine(LxcPath, name);
    public string ConfigPath(string name) => Path.Combine(ContainerDir(name), "config");
    public string ConsoleLogPath(string name) => Path.Combine(ContainerDir(name), "console.log");
    public string LogPath(string name) => Path.Combine(ContainerDir(name), "lxc.log");

    /// <summary>
    /// lxc-start -d. The config's hooks (the locked mounts, LxcHookCommand) are for an lxc-start run
    /// by hand: the daemon makes those mounts itself just before (ContainerRuntime) and drops the
    /// host's copies when lxc-start returns, so it clears the hook lists (-s with an empty value) and
    /// lxc-start runs no hook process.
    /// </summary>
    public async Task StartAsync(string name, CancellationToken cancellationToken = default)
    {
        string log = LogPath(name);
        long logged = File.Exists(log) ? new FileInfo(log).Length : 0;
        var output = await _run.RunAsync("lxc-start",
            ["-P", LxcPath, "-n", name, "-d", "-o", log, "-l", "WARN", "-s", "lxc.hook.pre-start=", "-s", "lxc.hook.start-host="],
            cancellationToken: cancellationToken, outlivesDaemon: true).ConfigureAwait(false);
        if (!output.Succeeded)
        {
            throw new ContainerDException(ErrorKind.StartFailed,
                $"container '{name}' did not start: {LoggedErrors(log, logged) ?? Explain(output, name)}");
        }
    }

    /// <summary>
    /// The errors a failed lxc-start wrote to the log past `from` (this start's), cause first: its
    /// stderr has only the tool's own advice ("run the container in foreground mode", lxc_start.c),
    /// which is left out. Null when it logged none.
    /// </summary>
    private static string? LoggedErrors(string log, long from)
    {
        string text;
        try
        {
            using var stream = File.OpenRead(log);
            stream.Seek(from <= stream.Length ? from : 0, SeekOrigin.Begin);
            var buffer = new byte[64 << 10];
            text = System.Text.Encoding.UTF8.GetString(buffer, 0, stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false));
        }
        catch (IOException)
        {
            return null;
        }
        // "lxc-start NAME TIME ERROR    start - ../src/lxc/start.c:start:2197 - No such file or directory - Failed to exec …"
        var errors = text.Split('\n')
            .Select(line => line.Split(" ERROR ", 2) is [_, var rest] ? rest.Trim().Split(" - ", 3) : [])
            .Where(parts => parts.Length == 3 && !parts[1].Contains("tools/lxc_start.c", StringComparison.Ordinal))
            .Select(parts => parts[2])
            .Distinct()
            .Take(5)
            .ToList();
        return errors.Count > 0 ? string.Join("\n", errors) : null;
    }

    /// <summary>
    /// Asks init to power off (SIGPWR, or SIGRTMIN+3 to a systemd init: LXC sees which it blocks) and
    /// waits up to timeout, then kills; force (or a zero timeout) kills at once. Returns true when the
    /// container was killed because it had not powered off within the timeout.
    /// </summary>
    public async Task<bool> StopAsync(string name, TimeSpan timeout, bool force, CancellationToken cancellationToken = default)
    {
        int seconds = (int)Math.Ceiling(timeout.TotalSeconds);
        if (!force && seconds > 0)
        {
            // --nokill: lxc-stop exits 1 when the timeout passes with the container still up, so
            // that the kill that follows is ours to report, not a silent part of lxc-stop.
            var clean = await _run.RunAsync("lxc-stop",
                ["-P", LxcPath, "-n", name, "-t", seconds.ToString(CultureInfo.InvariantCulture), "--nokill"],
                cancellationToken: cancellationToken).ConfigureAwait(false);
            // Exit 2: it was not running; the goal is reached all the same.
            if (clean.Succeeded || clean.ExitCode == 2
                || (await GetStatusAsync(name, cancellationToken).ConfigureAwait(false)).State == ContainerState.Stopped)
            {
                return false;
            }
        }
        // The kill is one command to the container's monitor: liblxc sends it without a process (lxc-stop -k's whole work).
        if (File.Exists(ConfigPath(name)) && await Task.Run(() => LiblxcStatus.TryStop(name, LxcPath), cancellationToken).ConfigureAwait(false) is true)
        {
            return !force && seconds > 0;
        }
        var output = await _run.RunAsync("lxc-stop", ["-P", LxcPath, "-n", name, "-k"], cancellationToken: cancellationToken).ConfigureAwait(false);
        if (!output.Succeeded && output.ExitCode != 2)
        {
            throw new ContainerDException(ErrorKind.StopFailed, $"container '{name}' did not stop: {Explain(output, name)}");
        }
        return !force && seconds > 0;
    }

    /// <summary>Freezes every process of the container (the cgroup freezer), so that its files hold still; UnfreezeAsync thaws them.</summary>
    public async Task FreezeAsync(string name, CancellationToken cancellationToken = default)
    {
        var output = await _run.RunAsync("lxc-freeze", ["-P", LxcPath, "-n", name], cancellationToken: cancellationToken).ConfigureAwait(false);
        if (!output.Succeeded)
        {
            throw new ContainerDException(ErrorKind.Failed, $"cannot freeze container '{name}' (stop it first to snapshot it): {Explain(output, name)}");
        }
    }

    public async Task UnfreezeAsync(string name)
    {
        // Never canceled: a container must not stay frozen because its job was.
        var output = await _run.RunAsync("lxc-unfreeze", ["-P", LxcPath, "-n", name]).ConfigureAwait(false);
        if (!output.Succeeded)
        {
            throw new ContainerDException(ErrorKind.Failed, $"cannot thaw container '{name}' (lxc-unfreeze -P {LxcPath} -n {name}): {Explain(output, name)}");
        }
    }

    public async Task<LxcStatus> GetStatusAsync(string name, CancellationToken cancellationToken = default)
    {
        if (!File.Exists(ConfigPath(name)))
        {
            return new LxcStatus(ContainerState.Stopped, 0);
        }
        if (LiblxcStatus.TryGet(name, LxcPath) is { } status)
        {
            return status;
        }
        var output = await _run.RunAsync("lxc-info", ["-P", LxcPath, "-n", name, "-s", "-p", "-H"],
            cancellationToken: cancellationToken).ConfigureAwait(false);
        if (!output.Succeeded)
        {
            return new LxcStatus(ContainerState.Stopped, 0);
        }
        return ParseInfo(output.StdoutText);
    }

    /// <summary>lxc-info -s -p -H prints "State: RUNNING" and, when running, "PID: 1234".</summary>
    internal static LxcStatus ParseInfo(string text)
    {
        var fields = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(line => line.Split(':', 2, StringSplitOptions.TrimEntries))
            .Where(pair => pair.Length == 2)
            .ToDictionary(pair => pair[0], pair => pair[1], StringComparer.OrdinalIgnoreCase);
        var state = fields.TryGetValue("State", out var s) ? ContainerStateNames.FromLxc(s) : ContainerState.Stopped;
        int pid = fields.TryGetValue("PID", out var p) && int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out int n) ? n : 0;
        return new LxcStatus(state, pid);
    }

    /// <summary>Runs argv inside the container with a clean environment; no shell in between.</summary>
    /// <param name="session">
    /// A command someone runs inside (RunCommand), not a step of the daemon's: its lxc-attach is not
    /// made to die with the daemon (setpriv, ~1 ms), as a shell's is not — that would kill only
    /// lxc-attach, never the command, which is lxc-attach's child and goes on; it ends when its
    /// output has nowhere to go. A step (an activation) dies with the daemon, which resumes it.
    /// </param>
    public Task<CommandOutput> AttachAsync(string name, IReadOnlyList<string> argv, IReadOnlyDictionary<string, string> environment,
        CommandLimits limits, CancellationToken cancellationToken = default, bool session = false)
    {
        List<string> args = ["-P", LxcPath, "-n", name, "--clear-env"];
        foreach (var (key, value) in environment)
        {
            args.AddRange(["-v", $"{key}={value}"]);
        }
        args.Add("--");
        args.AddRange(argv);
        return _run.RunAsync("lxc-attach", args, cancellationToken: cancellationToken, limits: limits, outlivesDaemon: session);
    }

    /// <summary>
    /// Starts argv inside the container on a terminal: setsid makes the slave its controlling tty,
    /// lxc-attach then gives it a pty of the container's own. Returns the pid to reap.
    /// </summary>
    public int AttachTerminal(string name, IReadOnlyList<string> argv, IReadOnlyDictionary<string, string> environment, SafeFileHandle slave)
    {
        List<string> args = ["setsid", "--ctty", "lxc-attach", "-P", LxcPath, "-n", name, "--clear-env"];
        foreach (var (key, value) in environment)
        {
            args.AddRange(["-v", $"{key}={value}"]);
        }
        args.Add("--");
        args.AddRange(argv);
        return Pty.Spawn(args, new Dictionary<string, string> { ["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" }, slave);
    }

    private string Explain(CommandOutput output, string name)
    {
        string detail = output.StderrTail(5);
        if (detail.Length == 0 && File.Exists(LogPath(name)))
        {
            detail = string.Join("\n", File.ReadLines(LogPath(name)).TakeLast(5));
        }
        return detail.Length > 0 ? detail : $"exit code {output.ExitCode}; see {LogPath(name)}";
    }
}
