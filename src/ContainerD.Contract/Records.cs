using Tmds.DBus.Protocol;

namespace ContainerD.Contract;

/// <summary>One row of ListContainers: a(ssuuuuo).</summary>
public sealed record ContainerSummary(string Name, string State, uint LeaderPid, uint UidBase, uint UidSize, uint Generation, string Path);

/// <summary>One row of ListJobs: a(ussso).</summary>
public sealed record JobSummary(uint Id, string Container, string Operation, string State, string Path);

/// <summary>One row of ListGenerations: a(utsb). CreatedMicros is µs since the Unix epoch.</summary>
public sealed record GenerationInfo(uint Number, ulong CreatedMicros, string StorePath, bool Current);

/// <summary>ExportContainer's options (a{sv}, each a boolean); a key not listed here is refused.</summary>
public static class ExportOptions
{
    /// <summary>Every generation of the profile, not only the current one (default false).</summary>
    public const string AllGenerations = nameof(AllGenerations);

    /// <summary>The systems' closure in the archive (default true); false when the target has it already (copy pushes it first).</summary>
    public const string Closure = nameof(Closure);

    public static IReadOnlyList<string> Keys { get; } = [AllGenerations, Closure];
}

/// <summary>A row of ListSnapshots: a(stus).</summary>
public sealed record SnapshotRow(string Name, ulong CreatedMicros, uint Generation, string SystemPath);

/// <summary>
/// JobRemoved(u id, o job, s container, s operation, s result, s message, s error): error is the
/// D-Bus error name of a failure (Errors.Table), empty when the job succeeded.
/// </summary>
public sealed record JobEnd(uint Id, string JobPath, string Container, string Operation, string Result, string Message, string ErrorName = "")
{
    public bool Succeeded => Result == JobResults.Done;
}

/// <summary>What RunCommand returns: (i exit, ay stdout, ay stderr).</summary>
public sealed record CommandResult(int ExitCode, byte[] Stdout, byte[] Stderr);

/// <summary>
/// One row of GetJobStatistics' a(sstdat): jobs of an operation that ended with a result, how many,
/// their total duration in seconds, and per bucket bound (the method's ad) how many took at most that.
/// </summary>
public sealed record JobStatisticsRow(string Operation, string Result, ulong Count, double Seconds, ulong[] Buckets);

/// <summary>A signal of the daemon's, as WatchSignalsAsync hands it on: what happened to containers and jobs.</summary>
public abstract record DaemonSignal;

/// <summary>ContainerNew(s name, o container).</summary>
public sealed record ContainerAppeared(string Name, string Path) : DaemonSignal;

/// <summary>ContainerRemoved(s name, o container).</summary>
public sealed record ContainerVanished(string Name, string Path) : DaemonSignal;

/// <summary>PropertiesChanged on a container's object: the properties that changed, with their new values.</summary>
public sealed record ContainerChanged(string Path, IReadOnlyDictionary<string, VariantValue> Changed) : DaemonSignal;

/// <summary>JobNew(u id, o job, s container, s operation).</summary>
public sealed record JobStarted(uint Id, string JobPath, string Container, string Operation) : DaemonSignal;

/// <summary>JobRemoved: the job's end.</summary>
public sealed record JobEnded(JobEnd End) : DaemonSignal;
