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

    /// <param name="input">What ssh's stdin carries (an archive to import), instead of this process's stdin.</param>
    /// <param name="output">Where ssh's stdout goes (an exported archive), instead of this process's stdout.</param>
    /// <param name="cancellationToken">Kills ssh (and with it the command there) when canceled.</param>
    public static async Task<int> RunAsync(Target target, bool terminal, IReadOnlyList<string> command, Stream? input = null, Stream? output = null,
        CancellationToken cancellationToken = default)
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
        var startInfo = new ProcessStartInfo("ssh") { UseShellExecute = false, RedirectStandardInput = input is not null, RedirectStandardOutput = output is not null };
        // -t only with a terminal here: without one ssh would warn and allocate none anyway.
        foreach (string arg in remote.Host.SshArguments(remote.ConfigFile, terminal && !Console.IsInputRedirected))
        {
            startInfo.ArgumentList.Add(arg);
        }
        startInfo.ArgumentList.Add(remoteCommand);
        using var ssh = Process.Start(startInfo) ?? throw new CliException(ExitCodes.Unreachable, "cannot start ssh");
        var feed = input is null ? Task.CompletedTask : FeedAsync(input, ssh.StandardInput.BaseStream);
        var drain = output is null ? Task.CompletedTask : ssh.StandardOutput.BaseStream.CopyToAsync(output);
        using var kill = cancellationToken.Register(() =>
        {
            try
            {
                ssh.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // It exited meanwhile.
            }
        });
        await ssh.WaitForExitAsync();
        await drain;
        await feed;
        return ssh.ExitCode switch
        {
            SshFailed => throw new CliException(ExitCodes.Unreachable, $"cannot reach {remote.Host} through ssh to run 'containerctl {command[0]}' there (ssh says why above)"),
            CommandNotFound => throw new CliException(ExitCodes.Unreachable,
                $"{remote.Host} has no containerctl on the PATH of its ssh sessions: '{command[0]}' runs the remote host's containerctl, since the daemon's file descriptors cannot cross ssh"),
            var code => code,
        };
    }

    /// <summary>Copies the input to ssh, then closes ssh's stdin: the far side reads to its end. ssh gone early ends it quietly.</summary>
    private static async Task FeedAsync(Stream input, Stream toSsh)
    {
        try
        {
            await input.CopyToAsync(toSsh);
        }
        catch (IOException)
        {
            // ssh exited (the far side failed, or stopped reading): its exit code tells.
        }
        finally
        {
            try
            {
                await toSsh.DisposeAsync();
            }
            catch (IOException)
            {
                // The same.
            }
        }
    }
}
