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
