using System.Diagnostics;

namespace ContainerD.Testing;

/// <summary>Runs a program by argv (never a shell string) and waits for it.</summary>
public static class Programs
{
    public static Task<(int ExitCode, string Stdout, string Stderr)> Run(string program, params string[] args) =>
        RunWith(null, null, program, args);

    /// <summary>With more environment variables, and text for its stdin (else it gets none).</summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunWith(IReadOnlyDictionary<string, string>? environment, string? stdin,
        string program, params string[] args)
    {
        var startInfo = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = stdin is not null, UseShellExecute = false,
        };
        foreach (string arg in args)
        {
            startInfo.ArgumentList.Add(arg);
        }
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            startInfo.Environment[key] = value;
        }
        using var process = Process.Start(startInfo)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
            process.StandardInput.Close();
        }
        await process.WaitForExitAsync();
        return (process.ExitCode, await stdout, await stderr);
    }

    /// <summary>
    /// first | second, as a shell would run it but without one: first's stdout copied into
    /// second's stdin. Returns both exit codes and stderrs.
    /// </summary>
    public static async Task<(int FirstExit, string FirstStderr, int SecondExit, string SecondStderr)> PipeAsync(
        (string Program, string[] Args) first, (string Program, string[] Args) second)
    {
        static Process Start(string program, string[] args)
        {
            var startInfo = new ProcessStartInfo(program)
            {
                RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false,
            };
            foreach (string arg in args)
            {
                startInfo.ArgumentList.Add(arg);
            }
            return Process.Start(startInfo)!;
        }
        using var a = Start(first.Program, first.Args);
        using var b = Start(second.Program, second.Args);
        a.StandardInput.Close();
        var aErr = a.StandardError.ReadToEndAsync();
        var bErr = b.StandardError.ReadToEndAsync();
        var bOut = b.StandardOutput.ReadToEndAsync();
        try
        {
            await a.StandardOutput.BaseStream.CopyToAsync(b.StandardInput.BaseStream);
        }
        catch (IOException)
        {
            // second stopped reading: its exit and stderr say why.
        }
        b.StandardInput.Close();
        await Task.WhenAll(a.WaitForExitAsync(), b.WaitForExitAsync());
        await bOut;
        return (a.ExitCode, await aErr, b.ExitCode, await bErr);
    }

    /// <summary>Its stdout; a failure throws with the command line and stderr.</summary>
    public static Task<string> RunChecked(string program, params string[] args) => RunCheckedWith(null, null, program, args);

    public static async Task<string> RunCheckedWith(IReadOnlyDictionary<string, string>? environment, string? stdin, string program, params string[] args)
    {
        var (exitCode, stdout, stderr) = await RunWith(environment, stdin, program, args);
        return exitCode == 0 ? stdout : throw new InvalidOperationException($"`{program} {string.Join(' ', args)}` exited with {exitCode}: {stderr.Trim()}");
    }
}
