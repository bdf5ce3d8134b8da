using System.Runtime.InteropServices;
using ContainerD.Contract;
using Microsoft.Win32.SafeHandles;

namespace ContainerD.Cli;

/// <summary>The commands that reach inside a container: run, shell, logs.</summary>
public static class Inside
{
    public static async Task<int> RunAsync(string bus, Arguments args)
    {
        var argv = args.AfterDoubleDash() ?? throw args.Usage("put -- before the command, e.g. containerctl run web -- id");
        string name = args.Positional("container name");
        args.End();
        if (argv.Count == 0)
        {
            throw args.Usage("no command given after --");
        }
        using var client = await ContainerDClient.ConnectAsync(bus);
        string path = await client.GetContainerAsync(name);
        var result = await client.RunCommandAsync(path, argv, new Dictionary<string, string>());
        using (var stdout = Console.OpenStandardOutput())
        {
            stdout.Write(result.Stdout);
        }
        using (var stderr = Console.OpenStandardError())
        {
            stderr.Write(result.Stderr);
        }
        return result.ExitCode;
    }

    /// <summary>An interactive shell: the daemon hands over a pty; keys go in, output comes out, until the shell exits.</summary>
    public static async Task<int> ShellAsync(string bus, Arguments args)
    {
        string name = args.Positional("container name");
        args.End();
        using var client = await ContainerDClient.ConnectAsync(bus);
        string path = await client.GetContainerAsync(name);
        using var pty = await client.OpenShellAsync(path);
        Terminal.CopyWindowSize(pty);
        using var resize = PosixSignalRegistration.Create(PosixSignal.SIGWINCH, _ => Terminal.CopyWindowSize(pty));
        Console.Error.Write($"Connected to {name}. Exit the shell (exit or Ctrl-D) to disconnect.\r\n");
        using (Terminal.EnterRawMode())
        {
            await using var session = new FileStream(pty, FileAccess.ReadWrite, bufferSize: 0);
            using var stdin = Console.OpenStandardInput();
            using var stdout = Console.OpenStandardOutput();
            // The session ends when the shell does: reading the master then fails (EIO) or ends.
            var output = Task.Factory.StartNew(() => Copy(session, stdout), TaskCreationOptions.LongRunning);
            _ = Task.Factory.StartNew(() => Copy(stdin, session), TaskCreationOptions.LongRunning);
            await output;
        }
        Console.Error.WriteLine($"Disconnected from {name}.");
        return ExitCodes.Ok;
    }

    /// <summary>The console log; with -f, keeps printing what the container writes, across LXC's log rotation.</summary>
    public static async Task<int> LogsAsync(string bus, Arguments args)
    {
        string name = args.Positional("container name");
        bool follow = args.Flag("-f") | args.Flag("--follow");
        args.End();
        using var client = await ContainerDClient.ConnectAsync(bus);
        string path = await client.GetContainerAsync(name);
        using var stdout = Console.OpenStandardOutput();
        var log = new FileStream(await client.OpenConsoleLogAsync(path), FileAccess.Read, bufferSize: 0);
        try
        {
            log.CopyTo(stdout);
            stdout.Flush();
            while (follow)
            {
                await Task.Delay(200);
                log.CopyTo(stdout);
                if (!IsStillConsoleLog(log.SafeFileHandle))
                {
                    // LXC rotated the log: our fd now reads the old file, which is complete; go on with the new one.
                    await log.DisposeAsync();
                    log = new FileStream(await client.OpenConsoleLogAsync(path), FileAccess.Read, bufferSize: 0);
                    log.CopyTo(stdout);
                }
                stdout.Flush();
            }
        }
        finally
        {
            await log.DisposeAsync();
        }
        return ExitCodes.Ok;
    }

    private static void Copy(Stream from, Stream to)
    {
        var buffer = new byte[4096];
        try
        {
            int n;
            while ((n = from.Read(buffer)) > 0)
            {
                to.Write(buffer, 0, n);
                to.Flush();
            }
        }
        catch (IOException)
        {
            // EIO on the master: the shell has exited and the pty is gone.
        }
    }

    /// <summary>Whether the fd still reads console.log rather than the rotated console.log.1 (or a deleted file).</summary>
    private static bool IsStillConsoleLog(SafeFileHandle log)
    {
        string? target = new FileInfo($"/proc/self/fd/{log.DangerousGetHandle()}").LinkTarget;
        return target is not null && target.EndsWith("/console.log", StringComparison.Ordinal);
    }
}
