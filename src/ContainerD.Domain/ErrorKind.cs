namespace ContainerD.Domain;

/// <summary>
/// Every failure a caller can act on has exactly one kind. The daemon maps a kind once to a
/// D-Bus error name and an exit code in one table, ContainerD.Contract.Errors (a test checks that
/// every kind has its row).
/// </summary>
public enum ErrorKind
{
    Failed,
    InvalidName,
    InvalidDefinition,
    NoSuchContainer,
    NoSuchJob,
    AlreadyExists,
    Busy,
    AccessDenied,
    BuildFailed,
    StartFailed,
    StopFailed,
    NoFreeRange,
    NotRunning,
    NoSuchGeneration,
    Canceled,
    /// <summary>A wrong signature, an out-of-range number, an empty argv: org.freedesktop.DBus.Error.InvalidArgs.</summary>
    InvalidArgs,
    /// <summary>The container's declaration file owns it; change or remove the file instead.</summary>
    Declarative,
    /// <summary>The new generation is built and current, but switch-to-configuration failed.</summary>
    ActivationFailed,
    /// <summary>RunCommand's output passed its cap; the command was killed.</summary>
    OutputTooLarge,
    /// <summary>The definition asks for what this host cannot do (a cgroup controller it lacks, idmapped mounts): refused before any build.</summary>
    HostUnsupported,
    NoSuchSnapshot,
}

/// <summary>An error with a kind and a message a person can act on.</summary>
public class ContainerDException(ErrorKind kind, string message, Exception? inner = null)
    : Exception(message, inner)
{
    public ErrorKind Kind { get; } = kind;
}
