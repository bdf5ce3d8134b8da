using ContainerD.Contract;

namespace ContainerD.Cli;

/// <summary>One exit code per kind of failure, documented in the README and in --help; the mapping is Contract's Errors table.</summary>
public static class ExitCodes
{
    public const int Ok = ExitCode.Ok;
    public const int Failed = ExitCode.Failed;
    public const int InvalidInput = ExitCode.InvalidInput;
    public const int NotFound = ExitCode.NotFound;
    public const int Denied = ExitCode.Denied;
    public const int Unreachable = ExitCode.Unreachable;
    public const int Conflict = ExitCode.Conflict;
    public const int Unsupported = ExitCode.Unsupported;

    public static int ForError(string? errorName) => Errors.ExitCodeOf(errorName);
}

/// <summary>A failure with the one line to print and the exit code to return.</summary>
public sealed class CliException(int exitCode, string message) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
