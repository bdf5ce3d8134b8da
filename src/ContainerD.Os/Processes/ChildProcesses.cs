using System.Collections.Concurrent;
using System.Diagnostics;

namespace ContainerD.Os.Processes;

/// <summary>
/// Starts the daemon's child processes so that they die with it: a kill -9 of the daemon must not
/// leave a nix-build that later writes into a state dir recovery has rolled back, or an lxc-monitor
/// per crash. Each child runs under `setpriv --pdeathsig KILL` (util-linux), which sets
/// PR_SET_PDEATHSIG and execs the program — .NET's Process cannot run code between fork and exec.
/// The kernel sends that signal when the *thread* that forked the child exits, not the process, and
/// thread-pool threads come and go: so every child that must die with the daemon is forked from one
/// thread that lives as long as it. Containers are the exception (lxc-start): they must outlive the
/// daemon, as does a command someone runs inside; those start on the calling thread.
/// Recovery reaps whatever still escaped (OrphanReaper): setpriv may be missing, or the daemon may
/// die between fork and prctl.
/// </summary>
public static class ChildProcesses
{
    private static readonly BlockingCollection<(Process Process, TaskCompletionSource Started)> Queue = [];
    private static readonly Lazy<string?> Setpriv = new(() => FindOnPath("setpriv"));
    private static readonly Lock ThreadLock = new();
    private static Thread? _spawner;

    /// <summary>Whether children get a death signal here (setpriv is installed).</summary>
    public static bool DieWithDaemon => Setpriv.Value is not null;

    /// <summary>
    /// Starts the process (its StartInfo as given, argv only); unless outlivesDaemon, it is killed
    /// when the daemon dies. Throws InvalidOperationException when the program is not installed.
    /// </summary>
    public static void Start(Process process, bool outlivesDaemon = false)
    {
        var startInfo = process.StartInfo;
        string program = FindOnPath(startInfo.FileName)
            ?? throw new InvalidOperationException($"cannot run {startInfo.FileName}: not found — is it installed and on PATH?");
        if (outlivesDaemon || Setpriv.Value is not { } setpriv)
        {
            // No death signal, so no thread to fork from: started here, without the hand-over to the
            // spawner thread (waking it cost milliseconds on a busy machine, per start and per run).
            startInfo.FileName = program;
            try
            {
                process.Start();
            }
            catch (System.ComponentModel.Win32Exception e)
            {
                throw new InvalidOperationException($"cannot run {program}: {e.Message}", e);
            }
            return;
        }
        startInfo.ArgumentList.Insert(0, program);
        startInfo.ArgumentList.Insert(0, "--");
        startInfo.ArgumentList.Insert(0, "KILL");
        startInfo.ArgumentList.Insert(0, "--pdeathsig");
        startInfo.FileName = setpriv;
        EnsureSpawner();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Queue.Add((process, started));
        try
        {
            started.Task.GetAwaiter().GetResult();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"cannot run {program}: {e.Message}", e);
        }
    }

    private static void EnsureSpawner()
    {
        lock (ThreadLock)
        {
            if (_spawner is not null)
            {
                return;
            }
            _spawner = new Thread(() =>
            {
                foreach (var (process, started) in Queue.GetConsumingEnumerable())
                {
                    try
                    {
                        process.Start();
                        started.SetResult();
                    }
                    catch (Exception e)
                    {
                        started.SetException(e);
                    }
                }
            })
            {
                IsBackground = true,
                Name = "child-spawner",
            };
            _spawner.Start();
        }
    }

    /// <summary>The program's full path: as given when it has a slash, else the first executable on PATH.</summary>
    private static string? FindOnPath(string program)
    {
        if (program.Contains('/', StringComparison.Ordinal))
        {
            return File.Exists(program) ? program : null;
        }
        string path = Environment.GetEnvironmentVariable("PATH") is { Length: > 0 } p ? p : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        foreach (string dir in path.Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(dir, program);
            if (File.Exists(candidate) && (File.GetUnixFileMode(candidate) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0)
            {
                return candidate;
            }
        }
        return null;
    }
}
