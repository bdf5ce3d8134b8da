namespace ContainerD.Os.Processes;

/// <summary>
/// Runs a program and captures its output: the seam between the OS adapters (LxcTool, NixTool)
/// and real processes, so tests can drive the adapters with scripted output.
/// </summary>
public interface ICommandRunner
{
    Task<CommandOutput> RunAsync(
        string program,
        IEnumerable<string> args,
        Action<string>? onStderrLine = null,
        CancellationToken cancellationToken = default,
        CommandLimits? limits = null,
        bool outlivesDaemon = false);
}

/// <summary>The real thing: CommandRunner, a process per call.</summary>
public sealed class ProcessRunner : ICommandRunner
{
    public static ProcessRunner Instance { get; } = new();

    public Task<CommandOutput> RunAsync(string program, IEnumerable<string> args, Action<string>? onStderrLine = null,
        CancellationToken cancellationToken = default, CommandLimits? limits = null, bool outlivesDaemon = false) =>
        CommandRunner.RunAsync(program, args, onStderrLine, cancellationToken, limits, outlivesDaemon);
}
