namespace ContainerD.Contract;

/// <summary>The documented exit codes of containerctl (README, --help, docs/API.md).</summary>
public static class ExitCode
{
    public const int Ok = 0;
    public const int Failed = 1;
    public const int InvalidInput = 2;
    public const int NotFound = 3;
    public const int Denied = 4;
    public const int Unreachable = 5;
    public const int Conflict = 6;
    public const int Unsupported = 7;
}

/// <summary>One kind of failure: its D-Bus error name, the exit code containerctl returns for it, what it means.</summary>
public sealed record ErrorRow(string Kind, string DBusName, int ExitCode, string Meaning);

/// <summary>
/// The one table of failures: error kind → D-Bus error name → exit code. The daemon names its
/// errors from it (method errors and JobRemoved's error), the CLI maps names to exit codes from
/// it, and docs/API.md lists it (a test checks all three agree).
/// </summary>
public static class Errors
{
    public const string Prefix = Names.ErrorPrefix;
    public const string InvalidArgs = "org.freedesktop.DBus.Error.InvalidArgs";
    public const string UnknownMethod = "org.freedesktop.DBus.Error.UnknownMethod";
    public const string UnknownObject = "org.freedesktop.DBus.Error.UnknownObject";
    public const string UnknownInterface = "org.freedesktop.DBus.Error.UnknownInterface";
    public const string UnknownProperty = "org.freedesktop.DBus.Error.UnknownProperty";
    public const string PropertyReadOnly = "org.freedesktop.DBus.Error.PropertyReadOnly";
    public const string BusAccessDenied = "org.freedesktop.DBus.Error.AccessDenied";

    /// <summary>Each ErrorKind of the daemon (ContainerD.Domain.ErrorKind), by name, plus the bus's own errors a client meets.</summary>
    public static IReadOnlyList<ErrorRow> Table { get; } =
    [
        new("Failed", Prefix + "Failed", ExitCode.Failed, "anything else that went wrong; the message says what"),
        new("InvalidName", Prefix + "InvalidName", ExitCode.InvalidInput, "a container name that is not ^[a-z][a-z0-9-]{0,30}$ (or a snapshot name that is not ^[a-z0-9][a-z0-9-]{0,62}$)"),
        new("InvalidDefinition", Prefix + "InvalidDefinition", ExitCode.InvalidInput, "a definition that does not parse or is refused; file:line:column in the message"),
        new("InvalidArgs", InvalidArgs, ExitCode.InvalidInput, "a wrong signature, an out-of-range number, an empty argv"),
        new("NoSuchContainer", Prefix + "NoSuchContainer", ExitCode.NotFound, "no container of that name"),
        new("NoSuchJob", Prefix + "NoSuchJob", ExitCode.NotFound, "no running job of that id"),
        new("NoSuchGeneration", Prefix + "NoSuchGeneration", ExitCode.NotFound, "no such generation to roll back to"),
        new("NoSuchSnapshot", Prefix + "NoSuchSnapshot", ExitCode.NotFound, "the container has no snapshot of that name"),
        new("AlreadyExists", Prefix + "AlreadyExists", ExitCode.Conflict, "a container of that name exists or is declared"),
        new("Busy", Prefix + "Busy", ExitCode.Conflict, "another job runs on that container; the message names it"),
        new("Declarative", Prefix + "Declarative", ExitCode.Conflict, "the container's declaration file owns it: change or remove that file"),
        new("AccessDenied", Prefix + "AccessDenied", ExitCode.Denied, "the caller is neither root nor in the admin group"),
        new("BusAccessDenied", BusAccessDenied, ExitCode.Denied, "the bus policy refused the call before it reached the daemon"),
        new("BuildFailed", Prefix + "BuildFailed", ExitCode.Failed, "the Nix build (or nix-env) failed"),
        new("StartFailed", Prefix + "StartFailed", ExitCode.Failed, "lxc-start failed or the container did not stay up"),
        new("StopFailed", Prefix + "StopFailed", ExitCode.Failed, "lxc-stop failed"),
        new("ActivationFailed", Prefix + "ActivationFailed", ExitCode.Failed, "the new system was built but switch-to-configuration failed; the container keeps running"),
        new("NoFreeRange", Prefix + "NoFreeRange", ExitCode.Failed, "the uid pool has no free range of that size"),
        new("NotRunning", Prefix + "NotRunning", ExitCode.Failed, "the container must be running for that"),
        new("OutputTooLarge", Prefix + "OutputTooLarge", ExitCode.Failed, "RunCommand's output passed its cap (stdout and stderr together); the command was killed"),
        new("Canceled", Prefix + "Canceled", ExitCode.Failed, "the job was canceled"),
        new("HostUnsupported", Prefix + "HostUnsupported", ExitCode.Unsupported, "the definition asks for what this host cannot do (a cgroup controller it lacks, idmapped mounts); refused before any build"),
        new("UnknownMethod", UnknownMethod, ExitCode.InvalidInput, "no such method on that interface"),
        new("UnknownObject", UnknownObject, ExitCode.NotFound, "no object at that path (a container or job that is gone)"),
        new("UnknownInterface", UnknownInterface, ExitCode.InvalidInput, "the object has no such interface"),
        new("UnknownProperty", UnknownProperty, ExitCode.InvalidInput, "the interface has no such property"),
        new("PropertyReadOnly", PropertyReadOnly, ExitCode.InvalidInput, "every property is read-only"),
        new("ServiceUnknown", "org.freedesktop.DBus.Error.ServiceUnknown", ExitCode.Unreachable, "containerctld is not on the bus"),
        new("NameHasNoOwner", "org.freedesktop.DBus.Error.NameHasNoOwner", ExitCode.Unreachable, "containerctld is not on the bus"),
    ];

    private static readonly Dictionary<string, ErrorRow> ByKind = Table.ToDictionary(r => r.Kind, StringComparer.Ordinal);
    private static readonly Dictionary<string, ErrorRow> ByName = Table.ToDictionary(r => r.DBusName, StringComparer.Ordinal);

    /// <summary>The D-Bus error name of a kind; an unknown kind is a bug, named Failed rather than thrown.</summary>
    public static string NameOf(string kind) => ByKind.TryGetValue(kind, out var row) ? row.DBusName : Prefix + "Failed";

    /// <summary>The exit code for a D-Bus error name; a name not in the table is a plain failure.</summary>
    public static int ExitCodeOf(string? dbusName) =>
        dbusName is not null && ByName.TryGetValue(dbusName, out var row) ? row.ExitCode : ExitCode.Failed;

    /// <summary>The kind of a D-Bus error name, or null.</summary>
    public static string? KindOf(string? dbusName) => dbusName is not null && ByName.TryGetValue(dbusName, out var row) ? row.Kind : null;
}
