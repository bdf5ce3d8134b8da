using System.Diagnostics;
using System.Text;
using ContainerD.Domain;

namespace ContainerD.Os.Processes;

/// <summary>
/// A command whose stdin and stdout are streams of any size (tar of a root, nix-store --export of
/// a closure): the caller writes stdin and reads stdout as the bytes come, nothing is held whole.
/// stderr's tail is kept for the error. argv only; the command dies with the daemon and with the
/// job (cancellation kills it).
/// </summary>
public static class StreamingCommand
{
    private const int StderrTail = 64 * 1024;

    /// <summary>Runs it; a non-zero exit is a ContainerDException of kind that names what and the end of stderr.</summary>
    public static async Task RunAsync(string program, IReadOnlyList<string> args, string what, ErrorKind kind,
        Func<Stream, Task>? writeStdin, Func<Stream, Task>? readStdout, CancellationToken cancellationToken)
    {
        var startInfo = new ProcessStartInfo(program)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = "/",
        };
        foreach (string arg in args)
        {
            startInfo.ArgumentList.Add(arg);
        }
        using var process = new Process { StartInfo = startInfo };
        ChildProcesses.Start(process);
        using var kill = cancellationToken.Register(() =>
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // It exited meanwhile.
            }
        });
        var stderr = ReadTailAsync(process.StandardError.BaseStream);
        var stdout = readStdout is null ? DrainAsync(process.StandardOutput.BaseStream) : readStdout(process.StandardOutput.BaseStream);
        Exception? fed = null;
        try
        {
            if (writeStdin is not null)
            {
                await writeStdin(process.StandardInput.BaseStream).ConfigureAwait(false);
            }
        }
        catch (IOException e)
        {
            // The command stopped reading (it failed): its exit and stderr say why.
            fed = e;
        }
        finally
        {
            try
            {
                process.StandardInput.Close();
            }
            catch (IOException)
            {
                // A broken pipe: the command is gone already.
            }
        }
        await stdout.ConfigureAwait(false);
        string errors = await stderr.ConfigureAwait(false);
        await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        if (process.ExitCode != 0)
        {
            string tail = string.Join("\n", errors.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).TakeLast(5));
            throw new ContainerDException(kind, $"{what} failed (exit {process.ExitCode}): {tail}");
        }
        if (fed is not null)
        {
            throw new ContainerDException(kind, $"{what} stopped reading its input: {fed.Message}");
        }
    }

    private static async Task DrainAsync(Stream stream)
    {
        var buffer = new byte[16384];
        while (await stream.ReadAsync(buffer).ConfigureAwait(false) > 0)
        {
        }
    }

    private static async Task<string> ReadTailAsync(Stream stream)
    {
        var tail = new MemoryStream();
        var buffer = new byte[16384];
        int read;
        while ((read = await stream.ReadAsync(buffer).ConfigureAwait(false)) > 0)
        {
            tail.Write(buffer, 0, read);
            if (tail.Length > 2 * StderrTail)
            {
                var keep = tail.ToArray()[^StderrTail..];
                tail.SetLength(0);
                tail.Write(keep);
            }
        }
        return Encoding.UTF8.GetString(tail.ToArray());
    }
}
