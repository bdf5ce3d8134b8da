namespace ContainerD.Contract;

/// <summary>The names on the bus. One place, used by the daemon to serve and the CLI to call.</summary>
public static class Names
{
    public const string DefaultBusName = "io.containerctl.ContainerD1";
    public const string ManagerPath = "/io/containerctl/ContainerD1";
    public const string ManagerInterface = "io.containerctl.ContainerD1.Manager";
    public const string ContainerInterface = "io.containerctl.ContainerD1.Container";
    public const string JobInterface = "io.containerctl.ContainerD1.Job";
    public const string ErrorPrefix = "io.containerctl.ContainerD1.Error.";
    public const string PropertiesInterface = "org.freedesktop.DBus.Properties";

    public const string ContainerPathPrefix = ManagerPath + "/container/";
    public const string JobPathPrefix = ManagerPath + "/job/";

    public static string ContainerPath(string name) => ContainerPathPrefix + ObjectPathEscaping.Escape(name);
    public static string JobPath(uint id) => JobPathPrefix + id.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The D-Bus error name for an error kind, e.g. NoSuchContainer.</summary>
    public static string Error(string kind) => ErrorPrefix + kind;
}

/// <summary>How a job ended, as JobRemoved's result spells it.</summary>
public static class JobResults
{
    public const string Done = "done";
    public const string Failed = "failed";
    public const string Canceled = "canceled";
}

/// <summary>A container's State, as its property and ListContainers spell it (the daemon's ContainerState; a test holds them together).</summary>
public static class ContainerStates
{
    public static IReadOnlyList<string> All { get; } = ["stopped", "starting", "running", "stopping", "failed"];
}
