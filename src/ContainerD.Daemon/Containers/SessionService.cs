using ContainerD.Contract;
using ContainerD.Domain;
using ContainerD.Domain.Lxc;
using ContainerD.Os.Lxc;
using ContainerD.Os.Processes;
using ContainerD.Os.Terminal;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;

namespace ContainerD.Daemon.Containers;

/// <summary>Ways into a running container: a command, an interactive shell, its console log.</summary>
public sealed class SessionService(LxcTool lxc, ContainerRegistry registry, ILogger<SessionService> log)
{
    /// <summary>RunCommand's bounds: its output exact up to the documented cap, and the command killed past it.</summary>
    public static readonly CommandLimits RunCommandLimits =
        new(Limits.RunCommandOutputBytes, Limits.RunCommandOutputBytes, BusText.MaxLineBytes, KillAfter: Limits.RunCommandOutputBytes);

    /// <summary>
    /// Runs argv inside a running container (lxc-attach; never a shell string). Canceling (the
    /// caller left the bus) kills lxc-attach and what it runs; so does output past the cap.
    /// </summary>
    public async Task<CommandOutput> RunCommandAsync(string name, IReadOnlyList<string> argv, IReadOnlyDictionary<string, string> environment,
        CancellationToken cancellationToken = default)
    {
        if (argv.Count == 0)
        {
            throw new ContainerDException(ErrorKind.InvalidArgs, "no command given: argv is empty");
        }
        registry.GetRunning(name);
        var output = await lxc.AttachAsync(name, argv, InsideEnvironment("dumb", environment), RunCommandLimits, cancellationToken, session: true)
            .ConfigureAwait(false);
        if (output.KilledForOutput)
        {
            throw new ContainerDException(ErrorKind.OutputTooLarge,
                $"the command wrote more than {Limits.RunCommandOutputBytes >> 20} MiB (stdout and stderr together) and was killed; redirect its output to a file inside, or use 'containerctl shell'");
        }
        return output;
    }

    /// <summary>
    /// Starts a login shell inside on a new pty and returns the pty's master for the caller
    /// (as machined's OpenMachineShell does). The shell ends when the caller closes the master.
    /// </summary>
    public SafeFileHandle OpenShell(string name)
    {
        registry.GetRunning(name);
        var (master, slave) = Pty.Open();
        using (slave)
        {
            try
            {
                int pid = lxc.AttachTerminal(name, ["sh", "-l"], InsideEnvironment("xterm-256color", new Dictionary<string, string>()), slave);
                log.LogInformation("shell session {Pid} opened in container {Name}", pid, name);
                _ = Pty.WaitForExitAsync(pid).ContinueWith(
                    exit => log.LogInformation("shell session {Pid} in container {Name} ended with status {Status}", pid, name, exit.Result),
                    TaskScheduler.Default);
            }
            catch
            {
                master.Dispose();
                throw;
            }
        }
        return master;
    }

    /// <summary>The container's console log, opened for reading (LXC writes it; it is capped and rotated).</summary>
    public SafeFileHandle OpenConsoleLog(string name)
    {
        registry.Get(name);
        string path = lxc.ConsoleLogPath(name);
        try
        {
            return File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (FileNotFoundException)
        {
            throw new ContainerDException(ErrorKind.NotRunning, $"container '{name}' has no console log yet: it is written from its first start");
        }
    }

    /// <summary>A clean environment for processes inside, so that nothing of the daemon's leaks in.</summary>
    public static Dictionary<string, string> InsideEnvironment(string term, IReadOnlyDictionary<string, string> extra)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["PATH"] = "/nix/var/nix/profiles/system/sw/bin:/run/current-system/sw/bin:/usr/bin:/bin",
            ["HOME"] = "/root",
            ["TERM"] = term,
        };
        foreach (var (key, value) in extra)
        {
            env[key] = value;
        }
        return env;
    }
}
