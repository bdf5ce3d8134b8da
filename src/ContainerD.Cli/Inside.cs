using System.Runtime.InteropServices;
using ContainerD.Contract;
using Microsoft.Win32.SafeHandles;
using Tmds.DBus.Protocol;

namespace ContainerD.Cli;

/// <summary>The commands that reach inside a container: run, shell, logs.</summary>
public static class Inside
{
    public static async Task<int> RunAsync(Target target, Arguments args)
    {
        var argv = args.AfterDoubleDash() ?? throw args.Usage("put -- before the command, e.g. containerctl run web -- id");
        string name = args.Positional("container name");
        args.End();
        if (argv.Count == 0)
        {
            throw args.Usage("no command given after --");
        }
        using var client = await target.ConnectAsync();
        Task gone = await client.WatchDaemonAsync();
        CommandResult result;
        try
        {
            // Straight to the container's object, whose path is its name escaped: one call, no
            // GetContainer first. Only where there is no such object, GetContainer says why.
            result = await client.RunCommandAsync(Names.ContainerPath(name), argv, new Dictionary<string, string>())
                .OrGoneAsync(gone, $"'{argv[0]}' ran in {name}");
        }
        catch (DBusErrorReplyException e) when (e.ErrorName == Errors.UnknownObject)
        {
            string path = await client.GetContainerAsync(name);
            result = await client.RunCommandAsync(path, argv, new Dictionary<string, string>())
                .OrGoneAsync(gone, $"'{argv[0]}' ran in {name}");
        }
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
    public static async Task<int> ShellAsync(Target target, Arguments args)
    {
        string name = args.Positional("container name");
        args.End();
        if (target.Remote is not null)
        {
            return await RemoteCli.RunAsync(target, terminal: true, ["shell", name]);
        }
        using var client = await target.ConnectAsync();
        Task gone = await client.WatchDaemonAsync();
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
            var input = Task.Factory.StartNew(() => Copy(stdin, session), TaskCreationOptions.LongRunning);
            var first = await Task.WhenAny(output, input, gone);
            if (first == input && !output.IsCompleted)
            {
                // stdin is at its end (</dev/null, a finished pipe): the shell gets an end of file
                // (^D) and may still print what it was doing; then the session ends either way.
                TryWrite(session, [Eof]);
                first = await Task.WhenAny(output, gone, Task.Delay(TimeSpan.FromSeconds(3)));
            }
            if (first == gone && !output.IsCompleted)
            {
                throw DaemonWatch.Gone($"the shell in {name} was open");
            }
        }
        Console.Error.WriteLine($"Disconnected from {name}.");
        return ExitCodes.Ok;
    }

    /// <summary>The console log; with -f, keeps printing what the container writes, across LXC's log rotation.</summary>
    public static async Task<int> LogsAsync(Target target, Arguments args)
    {
        string name = args.Positional("container name");
        bool follow = args.Flag("-f") | args.Flag("--follow");
        args.End();
        if (target.Remote is not null)
        {
            return await RemoteCli.RunAsync(target, terminal: false, follow ? ["logs", name, "--follow"] : ["logs", name]);
        }
        using var client = await target.ConnectAsync();
        string path = await client.GetContainerAsync(name);
        using var stdout = StandardOutput.Open();
        var log = new FileStream(await client.OpenConsoleLogAsync(path), FileAccess.Read, bufferSize: 0);
        try
        {
            log.CopyTo(stdout);
            stdout.Flush();
            Task gone = follow ? await client.WatchDaemonAsync() : Task.CompletedTask;
            while (follow)
            {
                await Task.WhenAny(Task.Delay(200), gone);
                if (gone.IsCompleted)
                {
                    log.CopyTo(stdout);
                    stdout.Flush();
                    throw DaemonWatch.Gone($"following the console log of {name}");
                }
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
        catch (IOException e) when (StandardOutput.ReaderGone(e))
        {
            // The reader went away (`logs -f | head -3`): done, as a SIGPIPE would end a C tool.
        }
        finally
        {
            await log.DisposeAsync();
        }
        return ExitCodes.Ok;
    }

    /// <summary>VEOF: what Ctrl-D sends; a shell reading its terminal takes it as the end of its input.</summary>
    private const byte Eof = 0x04;

    private static void TryWrite(Stream to, byte[] bytes)
    {
        try
        {
            to.Write(bytes);
            to.Flush();
        }
        catch (IOException)
        {
            // The shell is gone already.
        }
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
