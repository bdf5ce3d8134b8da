using ContainerD.Contract;

namespace ContainerD.Cli;

/// <summary>One exit code per kind of failure, documented in the README and in --help.</summary>
public static class ExitCodes
{
    public const int Ok = 0;
    public const int Failed = 1;
    public const int InvalidInput = 2;
    public const int NotFound = 3;
    public const int Denied = 4;
    public const int Unreachable = 5;
    public const int Conflict = 6;

    public static int ForError(string errorName) => errorName switch
    {
        _ when errorName == Names.Error("InvalidName") || errorName == Names.Error("InvalidDefinition") => InvalidInput,
        _ when errorName == Names.Error("NoSuchContainer") || errorName == Names.Error("NoSuchJob") || errorName == Names.Error("NoSuchGeneration") => NotFound,
        _ when errorName == Names.Error("AccessDenied") || errorName == "org.freedesktop.DBus.Error.AccessDenied" => Denied,
        _ when errorName == Names.Error("Busy") || errorName == Names.Error("AlreadyExists") => Conflict,
        "org.freedesktop.DBus.Error.ServiceUnknown" or "org.freedesktop.DBus.Error.NameHasNoOwner" => Unreachable,
        _ => Failed,
    };
}

/// <summary>A failure with the one line to print and the exit code to return.</summary>
public sealed class CliException(int exitCode, string message) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
