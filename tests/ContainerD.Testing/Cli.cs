namespace ContainerD.Testing;

public sealed record CliResult(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"exit {ExitCode}\nstdout:\n{Stdout}\nstderr:\n{Stderr}";
}

/// <summary>Runs the real containerctl binary as a process.</summary>
public static class Cli
{
    public static async Task<CliResult> RunAsync(IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null)
    {
        // stdin is an empty pipe, as for a script: never a terminal that could answer a prompt.
        var (exitCode, stdout, stderr) = await Programs.RunWith(environment, "", Repo.Cli, [.. args]);
        return new CliResult(exitCode, stdout, stderr);
    }
}
