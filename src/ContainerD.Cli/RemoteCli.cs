using System.Diagnostics;
using ContainerD.Contract;

namespace ContainerD.Cli;

/// <summary>
/// What needs a file descriptor from the daemon — shell's pty, logs' console log — cannot cross a bus
/// connection over ssh. With -H the other host's own containerctl runs it there, under ssh (-t for
/// shell, so both ends are terminals; ssh carries the keys, the output and the window size), on the
/// same bus. Its exit code is ours; ssh's own failure (255) is exit 5. Only the words of the command
/// go to the remote shell, each quoted (RemoteHost.Quote).
/// </summary>
public static class RemoteCli
{
    private const int SshFailed = 255;
    private const int CommandNotFound = 127;

    public static async Task<int> RunAsync(Target target, bool terminal, IReadOnlyList<string> command)
    {
        var remote = target.Remote ?? throw new InvalidOperationException("RemoteCli runs only for -H");
        List<string> argv = ["containerctl"];
        if (target.Bus != "system")
        {
            argv.AddRange(["--bus", target.Bus]);
        }
        argv.AddRange(command);
        string remoteCommand;
        try
        {
            remoteCommand = RemoteHost.RemoteCommand(argv);
        }
        catch (FormatException e)
        {
            throw new CliException(ExitCodes.InvalidInput, $"{command[0]}: {e.Message}");
        }
        var startInfo = new ProcessStartInfo("ssh") { UseShellExecute = false };
        // -t only with a terminal here: without one ssh would warn and allocate none anyway.
        foreach (string arg in remote.Host.SshArguments(remote.ConfigFile, terminal && !Console.IsInputRedirected))
        {
            startInfo.ArgumentList.Add(arg);
        }
        startInfo.ArgumentList.Add(remoteCommand);
        using var ssh = Process.Start(startInfo) ?? throw new CliException(ExitCodes.Unreachable, "cannot start ssh");
        await ssh.WaitForExitAsync();
        return ssh.ExitCode switch
        {
            SshFailed => throw new CliException(ExitCodes.Unreachable, $"cannot reach {remote.Host} through ssh to run 'containerctl {command[0]}' there (ssh says why above)"),
            CommandNotFound => throw new CliException(ExitCodes.Unreachable,
                $"{remote.Host} has no containerctl on the PATH of its ssh sessions: '{command[0]}' runs the remote host's containerctl, since the daemon's file descriptors cannot cross ssh"),
            var code => code,
        };
    }
}
