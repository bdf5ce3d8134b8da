using System.Collections.Concurrent;
using System.Text;
using ContainerD.Os.Processes;

namespace ContainerD.DaemonTests;

/// <summary>A command runner that runs nothing: it records each call and answers from a script.</summary>
public sealed class ScriptedRunner(Func<string, IReadOnlyList<string>, CommandOutput>? script = null) : ICommandRunner
{
    public ConcurrentQueue<(string Program, IReadOnlyList<string> Args, bool OutlivesDaemon)> Calls { get; } = new();

    public static CommandOutput Output(int exitCode, string stdout = "", string stderr = "") =>
        new(exitCode, Encoding.UTF8.GetBytes(stdout), Encoding.UTF8.GetBytes(stderr));

    public Task<CommandOutput> RunAsync(string program, IEnumerable<string> args, Action<string>? onStderrLine = null,
        CancellationToken cancellationToken = default, CommandLimits? limits = null, bool outlivesDaemon = false)
    {
        var argv = args.ToList();
        Calls.Enqueue((program, argv, outlivesDaemon));
        var output = script?.Invoke(program, argv) ?? Output(0);
        foreach (string line in output.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            onStderrLine?.Invoke(line);
        }
        return Task.FromResult(output);
    }
}

/// <summary>A temp dir removed at the end of a test.</summary>
public sealed class TempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("containerd-daemontests-").FullName;

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
