using ContainerD.Domain;
using ContainerD.Domain.Definitions;
using ContainerD.Domain.IdMapping;

namespace ContainerD.Daemon.Containers;

/// <summary>
/// A container as the daemon knows it: what is persisted plus what LXC reports now.
/// Mutated only by the operations and ContainerRuntime (its job holds the container), each field under its lock; a reader sees each field whole
/// (PersistedState is an immutable record), not several fields from one instant.
/// </summary>
public sealed class Container(PersistedState state, ContainerDefinition definition, string definitionYaml)
{
    private readonly Lock _lock = new();

    public string Name { get; } = state.Name;
    public PersistedState State { get; private set; } = state;
    public ContainerDefinition Definition { get; private set; } = definition;
    public string DefinitionYaml { get; private set; } = definitionYaml;
    public ContainerState RunState { get; private set; } = ContainerState.Stopped;
    public int LeaderPid { get; private set; }

    public IdRange Ids => new(State.UidBase, State.UidSize);

    /// <summary>How its last job ended, "update failed" (public); kept in its state dir across daemon restarts.</summary>
    public string LastJob { get; set; } = "";

    /// <summary>That job's message (admin-only: a build's output may show what it evaluated).</summary>
    public string LastJobMessage { get; set; } = "";

    /// <summary>Held while the runtime state is asked of LXC and applied (ContainerRuntime.RefreshAsync).</summary>
    public SemaphoreSlim RefreshLock { get; } = new(1, 1);

    /// <summary>Sets what LXC reports; true when anything changed.</summary>
    public bool SetRuntime(ContainerState runState, int pid)
    {
        lock (_lock)
        {
            if (runState != ContainerState.Running)
            {
                pid = 0;
            }
            if (RunState == runState && LeaderPid == pid)
            {
                return false;
            }
            (RunState, LeaderPid) = (runState, pid);
            return true;
        }
    }

    public void SetState(PersistedState state)
    {
        lock (_lock)
        {
            State = state;
        }
    }

    public void SetDefinition(ContainerDefinition definition, string yaml)
    {
        lock (_lock)
        {
            (Definition, DefinitionYaml) = (definition, yaml);
        }
    }
}
