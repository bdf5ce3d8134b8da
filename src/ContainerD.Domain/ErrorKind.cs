namespace ContainerD.Domain;

/// <summary>
/// Every failure a caller can act on has exactly one kind. The daemon maps a kind once to a
/// D-Bus error name (io.containerctl.ContainerD1.Error.&lt;Kind&gt;) and the CLI once to an exit code.
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
}

/// <summary>An error with a kind and a message a person can act on.</summary>
public class ContainerDException(ErrorKind kind, string message, Exception? inner = null)
    : Exception(message, inner)
{
    public ErrorKind Kind { get; } = kind;
}
