namespace ContainerD.Contract;

/// <summary>A method's or a signal's place in the contract.</summary>
public enum WireKind
{
    Method,
    Signal,
}

/// <summary>
/// One member of a served interface: its name and signatures. A signal's arguments are all out
/// (In is empty, Out is what Emit writes), as the introspection XML declares them.
/// </summary>
public sealed record WireMember(WireKind Kind, string Interface, string Name, string In, string Out)
{
    /// <summary>What a signal carries: the signature its Emit writes.</summary>
    public string Signature => Kind == WireKind.Signal ? Out : In;
}

/// <summary>
/// The wire contract, named once: every member of the three interfaces with its signatures. The
/// daemon dispatches and emits by these names, the client calls by them, and a test holds this
/// table, the introspection XML and the daemon's handlers to each other member by member.
/// </summary>
public static class Wire
{
    /// <summary>io.containerctl.ContainerD1.Manager.</summary>
    public static class Manager
    {
        public const string ListContainers = nameof(ListContainers);
        public const string GetContainer = nameof(GetContainer);
        public const string CreateContainer = nameof(CreateContainer);
        public const string StartContainer = nameof(StartContainer);
        public const string StopContainer = nameof(StopContainer);
        public const string StopContainerWithTimeout = nameof(StopContainerWithTimeout);
        public const string RestartContainer = nameof(RestartContainer);
        public const string UpdateContainer = nameof(UpdateContainer);
        public const string RollbackContainer = nameof(RollbackContainer);
        public const string DestroyContainer = nameof(DestroyContainer);
        public const string ListGenerations = nameof(ListGenerations);
        public const string DeleteGenerations = nameof(DeleteGenerations);
        public const string SnapshotContainer = nameof(SnapshotContainer);
        public const string ListSnapshots = nameof(ListSnapshots);
        public const string RestoreSnapshot = nameof(RestoreSnapshot);
        public const string DeleteSnapshot = nameof(DeleteSnapshot);
        public const string ResetContainer = nameof(ResetContainer);
        public const string ExportContainer = nameof(ExportContainer);
        public const string ImportContainer = nameof(ImportContainer);
        public const string ListJobs = nameof(ListJobs);
        public const string CancelJob = nameof(CancelJob);
        public const string GetJobStatistics = nameof(GetJobStatistics);

        public const string ContainerNew = nameof(ContainerNew);
        public const string ContainerRemoved = nameof(ContainerRemoved);
        public const string JobNew = nameof(JobNew);
        public const string JobLog = nameof(JobLog);
        public const string JobRemoved = nameof(JobRemoved);
    }

    /// <summary>io.containerctl.ContainerD1.Container.</summary>
    public static class Container
    {
        public const string RunCommand = nameof(RunCommand);
        public const string OpenShell = nameof(OpenShell);
        public const string OpenConsoleLog = nameof(OpenConsoleLog);
        public const string GetUsage = nameof(GetUsage);
    }

    /// <summary>io.containerctl.ContainerD1.Job.</summary>
    public static class Job
    {
        public const string Cancel = nameof(Cancel);
    }

    /// <summary>Every member, in the order of the XML.</summary>
    public static IReadOnlyList<WireMember> Members { get; } =
    [
        Method(Names.ManagerInterface, Manager.ListContainers, "", "a(ssuuuuo)"),
        Method(Names.ManagerInterface, Manager.GetContainer, "s", "o"),
        Method(Names.ManagerInterface, Manager.CreateContainer, "ss", "o"),
        Method(Names.ManagerInterface, Manager.StartContainer, "s", "o"),
        Method(Names.ManagerInterface, Manager.StopContainer, "sb", "o"),
        Method(Names.ManagerInterface, Manager.StopContainerWithTimeout, "sbu", "o"),
        Method(Names.ManagerInterface, Manager.RestartContainer, "s", "o"),
        Method(Names.ManagerInterface, Manager.UpdateContainer, "ss", "o"),
        Method(Names.ManagerInterface, Manager.RollbackContainer, "su", "o"),
        Method(Names.ManagerInterface, Manager.DestroyContainer, "s", "o"),
        Method(Names.ManagerInterface, Manager.ListGenerations, "s", "a(utsb)"),
        Method(Names.ManagerInterface, Manager.DeleteGenerations, "ss", "o"),
        Method(Names.ManagerInterface, Manager.SnapshotContainer, "ss", "o"),
        Method(Names.ManagerInterface, Manager.ListSnapshots, "s", "a(stus)"),
        Method(Names.ManagerInterface, Manager.RestoreSnapshot, "ss", "o"),
        Method(Names.ManagerInterface, Manager.DeleteSnapshot, "ss", "o"),
        Method(Names.ManagerInterface, Manager.ResetContainer, "s", "o"),
        Method(Names.ManagerInterface, Manager.ExportContainer, "sha{sv}", "o"),
        Method(Names.ManagerInterface, Manager.ImportContainer, "hs", "o"),
        Method(Names.ManagerInterface, Manager.ListJobs, "", "a(ussso)"),
        Method(Names.ManagerInterface, Manager.CancelJob, "u", ""),
        Method(Names.ManagerInterface, Manager.GetJobStatistics, "", "ada(sstdat)"),
        Signal(Names.ManagerInterface, Manager.ContainerNew, "so"),
        Signal(Names.ManagerInterface, Manager.ContainerRemoved, "so"),
        Signal(Names.ManagerInterface, Manager.JobNew, "uoss"),
        Signal(Names.ManagerInterface, Manager.JobLog, "us"),
        Signal(Names.ManagerInterface, Manager.JobRemoved, "uosssss"),
        Method(Names.ContainerInterface, Container.RunCommand, "asa{ss}", "iayay"),
        Method(Names.ContainerInterface, Container.OpenShell, "", "h"),
        Method(Names.ContainerInterface, Container.OpenConsoleLog, "", "h"),
        Method(Names.ContainerInterface, Container.GetUsage, "", "a{sv}"),
        Method(Names.JobInterface, Job.Cancel, "", ""),
    ];

    private static readonly Dictionary<(string, string), WireMember> ByName = Members.ToDictionary(m => (m.Interface, m.Name));

    /// <summary>A member of the Manager (the interface most calls go to).</summary>
    public static WireMember Of(string member) => Of(Names.ManagerInterface, member);

    /// <summary>A member by interface and name; a name not in the table is a bug.</summary>
    public static WireMember Of(string @interface, string member) =>
        ByName.TryGetValue((@interface, member), out var m) ? m : throw new ArgumentException($"{@interface} has no member {member} in the contract");

    private static WireMember Method(string @interface, string name, string @in, string @out) => new(WireKind.Method, @interface, name, @in, @out);
    private static WireMember Signal(string @interface, string name, string signature) => new(WireKind.Signal, @interface, name, "", signature);
}
