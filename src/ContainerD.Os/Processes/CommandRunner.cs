using System.Diagnostics;
using System.Text;

namespace ContainerD.Os.Processes;

/// <summary>The outcome of a finished command; output kept as the bytes the command wrote.</summary>
public sealed record CommandOutput(int ExitCode, byte[] Stdout, byte[] StderrBytes)
{
    public string StdoutText => Encoding.UTF8.GetString(Stdout);
    public string Stderr => Encoding.UTF8.GetString(StderrBytes);
    public bool Succeeded => ExitCode == 0;

    /// <summary>The last lines of stderr, for an error message a person can read.</summary>
    public string StderrTail(int lines = 10)
    {
        var all = Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return string.Join("\n", all.TakeLast(lines));
    }
}

/// <summary>
/// Runs a program with an argv array — never a shell string — and captures its output.
/// stderr lines can be streamed as they arrive (Nix build logs). Cancellation kills the process tree.
/// </summary>
public static class CommandRunner
{
    public static async Task<CommandOutput> RunAsync(
        string program,
        IEnumerable<string> args,
        Action<string>? onStderrLine = null,
        IReadOnlyDictionary<string, string>? environment = null,
        string? workingDirectory = null,
        CancellationToken cancellationToken = default)
    {
        var startInfo = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? "/",
        };
        foreach (string arg in args)
        {
            startInfo.ArgumentList.Add(arg);
        }
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            startInfo.Environment[key] = value;
        }

        using var process = new Process { StartInfo = startInfo };
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"cannot run {program}: {e.Message} — is it installed and on PATH?", e);
        }
        process.StandardInput.Close();

        var stdout = new MemoryStream();
        Task stdoutTask = process.StandardOutput.BaseStream.CopyToAsync(stdout, CancellationToken.None);
        var stderr = new MemoryStream();
        Task stderrTask = CopyAndSplitAsync(process.StandardError.BaseStream, stderr, onStderrLine);

        try
        {
            await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            throw;
        }
        finally
        {
            await Task.WhenAll(stdoutTask, stderrTask).ConfigureAwait(false);
        }
        return new CommandOutput(process.ExitCode, stdout.ToArray(), stderr.ToArray());
    }

    /// <summary>Keeps every byte, and hands complete lines to onLine as they arrive (a build's progress).</summary>
    private static async Task CopyAndSplitAsync(Stream source, MemoryStream sink, Action<string>? onLine)
    {
        var buffer = new byte[8192];
        int lineStart = 0;
        int read;
        while ((read = await source.ReadAsync(buffer, CancellationToken.None).ConfigureAwait(false)) > 0)
        {
            sink.Write(buffer, 0, read);
            if (onLine is null)
            {
                continue;
            }
            var all = sink.GetBuffer().AsSpan(0, (int)sink.Length);
            int newline;
            while ((newline = all[lineStart..].IndexOf((byte)'\n')) >= 0)
            {
                onLine(Encoding.UTF8.GetString(all.Slice(lineStart, newline)).TrimEnd('\r'));
                lineStart += newline + 1;
            }
        }
        if (onLine is not null && lineStart < sink.Length)
        {
            onLine(Encoding.UTF8.GetString(sink.GetBuffer(), lineStart, (int)sink.Length - lineStart));
        }
    }
}
