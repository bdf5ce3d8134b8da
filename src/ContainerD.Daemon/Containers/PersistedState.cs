using System.Text.Json;
using System.Text.Json.Serialization;

namespace ContainerD.Daemon.Containers;

/// <summary>Where a container is in its life, persisted before each multi-step change (the intent).</summary>
public enum Phase
{
    /// <summary>Create began; a restart rolls everything back.</summary>
    Creating,
    Ready,
    /// <summary>Destroy began; a restart finishes it.</summary>
    Destroying,
}

/// <summary>What the daemon must remember about a container across restarts: state.json.</summary>
public sealed record PersistedState
{
    public required string Name { get; init; }
    public required long UidBase { get; init; }
    public required long UidSize { get; init; }
    public int Generation { get; init; }
    public string? SystemPath { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public Phase Phase { get; init; }
    public bool Declarative { get; init; }
    public string? DefinitionHash { get; init; }
    /// <summary>
    /// The definition came from a member of the admin group, not root: its bind sources are checked
    /// again at each start. Set when a member's create or update begins, cleared when root's commits.
    /// </summary>
    public bool MemberDefinition { get; init; }
    /// <summary>
    /// The generation was committed and its activation (switch or restart of a running container)
    /// has not finished yet: a crash in between leaves it set, and recovery activates it.
    /// </summary>
    public bool ActivationPending { get; init; }
    /// <summary>
    /// A change that restarts the container (a restart activation, restart, restore, reset) stopped
    /// it while it ran: set (and written) before the stop, cleared at the job's end (an activation's
    /// with ActivationPending); a crash before the start leaves it set, and recovery starts it.
    /// </summary>
    public bool RestartPending { get; init; }
}

/// <summary>state.json's format, generated at build time: the daemon is NativeAOT, without reflection.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, WriteIndented = true, Converters = [typeof(CamelCasePhase)])]
[JsonSerializable(typeof(PersistedState))]
public sealed partial class PersistedStateJson : JsonSerializerContext;

/// <summary>Phases as "creating", "ready"…</summary>
public sealed class CamelCasePhase() : JsonStringEnumConverter<Phase>(JsonNamingPolicy.CamelCase);
