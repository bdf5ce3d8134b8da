namespace ContainerD.Domain;

/// <summary>What a container is doing, as the D-Bus State property spells it.</summary>
public enum ContainerState
{
    Stopped,
    Starting,
    Running,
    Stopping,
    Failed,
}

public static class ContainerStateNames
{
    public static string ToWire(this ContainerState state) => state switch
    {
        ContainerState.Stopped => "stopped",
        ContainerState.Starting => "starting",
        ContainerState.Running => "running",
        ContainerState.Stopping => "stopping",
        _ => "failed",
    };

    /// <summary>LXC's state words (lxc-info, lxc-monitor) in our terms.</summary>
    public static ContainerState FromLxc(string lxcState) => lxcState.Trim().ToUpperInvariant() switch
    {
        "RUNNING" or "FROZEN" or "FREEZING" or "THAWED" => ContainerState.Running,
        "STARTING" => ContainerState.Starting,
        "STOPPING" or "ABORTING" => ContainerState.Stopping,
        "STOPPED" => ContainerState.Stopped,
        _ => ContainerState.Failed,
    };
}
