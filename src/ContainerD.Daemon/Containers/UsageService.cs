using ContainerD.Domain;
using ContainerD.Domain.Lxc;
using ContainerD.Os;

namespace ContainerD.Daemon.Containers;

/// <summary>GetUsage: a running container's figures from its cgroup.</summary>
public sealed class UsageService(ContainerRegistry registry, HostFeatures host)
{
    /// <summary>The figures while it runs (from its init's cgroup); null when it is not running.</summary>
    public ContainerUsage? GetUsage(string name)
    {
        var container = registry.Get(name);
        int pid = container.LeaderPid;
        if (container.RunState != ContainerState.Running || pid <= 0)
        {
            return null;
        }
        return CgroupUsageReader.Read(pid, host);
    }
}
