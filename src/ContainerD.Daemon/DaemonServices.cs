using ContainerD.Daemon.Containers;
using ContainerD.Daemon.Jobs;
using ContainerD.Daemon.Operations;
using ContainerD.Daemon.Startup;
using ContainerD.Domain.Configuration;
using ContainerD.Domain.Lxc;
using ContainerD.Os;
using ContainerD.Os.Filesystem;
using ContainerD.Os.Lxc;
using ContainerD.Os.Net;
using ContainerD.Os.Nix;
using Microsoft.Extensions.DependencyInjection;

namespace ContainerD.Daemon;

/// <summary>The daemon's core, wired once: containerctld gives it the host's tools, the daemon tests scripted ones.</summary>
public static class DaemonServices
{
    public static IServiceCollection AddContainerD(this IServiceCollection services, DaemonConfig config,
        LxcTool lxc, NixTool nix, AsContainerRoot asContainerRoot, HostNetwork network, SubIdStore subIds, HostFeatures host, TimeProvider? clock = null)
    {
        services.AddSingleton(config);
        services.AddSingleton(clock ?? TimeProvider.System);
        services.AddSingleton(new ContainerPaths(config));
        services.AddSingleton<StateStore>();
        services.AddSingleton(lxc);
        services.AddSingleton(nix);
        services.AddSingleton(network);
        services.AddSingleton(subIds);
        services.AddSingleton(host);
        services.AddSingleton<JobManager>();
        services.AddSingleton<ContainerRegistry>();
        services.AddSingleton<IdmapNamespaces>();
        services.AddSingleton<MemberConfinement>();
        services.AddSingleton<ContainerRuntime>();
        services.AddSingleton<SystemBuilder>();
        services.AddSingleton<ProfileSteps>();
        services.AddSingleton(asContainerRoot);
        services.AddSingleton<Snapshots>();
        services.AddSingleton<RootfsSwap>();
        services.AddSingleton<OperationKit>();
        services.AddSingleton<Operations.Operations>();
        services.AddSingleton<Recovery>();
        services.AddSingleton<DeclarativeSync>();
        services.AddSingleton<SessionService>();
        services.AddSingleton<UsageService>();
        return services;
    }
}
