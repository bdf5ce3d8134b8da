using System.Diagnostics;

namespace ContainerD.Testing;

/// <summary>Runs a program by argv (never a shell string) and waits for it.</summary>
public static class Programs
{
    public static Task<(int ExitCode, string Stdout, string Stderr)> Run(string program, params string[] args) =>
        Run(program, new Dictionary<string, string>(), args);

    public static async Task<(int ExitCode, string Stdout, string Stderr)> Run(string program, IReadOnlyDictionary<string, string> environment,
        params string[] args)
    {
        var startInfo = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string arg in args)
        {
            startInfo.ArgumentList.Add(arg);
        }
        foreach (var (key, value) in environment)
        {
            startInfo.Environment[key] = value;
        }
        using var process = Process.Start(startInfo)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await stdout, await stderr);
    }

    /// <summary>Its stdout; a failure throws with the command line and stderr.</summary>
    public static async Task<string> RunChecked(string program, params string[] args)
    {
        var (exitCode, stdout, stderr) = await Run(program, args);
        return exitCode == 0 ? stdout : throw new InvalidOperationException($"{program} {string.Join(' ', args)} failed ({exitCode}): {stderr}");
    }
}
