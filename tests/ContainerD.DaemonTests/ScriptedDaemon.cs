using ContainerD.Daemon.Containers;
using ContainerD.Daemon.Jobs;
using ContainerD.Domain.Configuration;
using ContainerD.Domain.IdMapping;
using ContainerD.Domain.Lxc;
using ContainerD.Os;
using ContainerD.Os.Filesystem;
using ContainerD.Os.Lxc;
using ContainerD.Os.Net;
using ContainerD.Os.Nix;
using ContainerD.Daemon;
using ContainerD.Daemon.Startup;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ContainerD.DaemonTests;

/// <summary>
/// The daemon's services as containerctld wires them, on scripted tools, with every path (state,
/// definitions, profiles, GC roots, subuid, login.defs) in a temp dir: nothing of the host is read
/// or written.
/// </summary>
public sealed class ScriptedDaemon : IDisposable
{
    private readonly TempDir _dir = new();

    public DaemonConfig Config { get; }
    public StateStore Store { get; }
    public ContainerRegistry Registry { get; }
    public JobManager Jobs { get; }
    public Daemon.Operations.Operations Operations { get; }
    public Recovery Recovery { get; }
    public DeclarativeSync Declarative { get; }
    /// <summary>What the daemon does once the bus is published: declarations, autostart, resumed activations.</summary>
    public StartupReconciler Reconciler { get; }
    private readonly ServiceProvider _services;

    public ScriptedDaemon(ScriptedRunner runner, HostFeatures host, IdRange pool)
    {
        Config = new DaemonConfig
        {
            StateDir = Path.Combine(_dir.Path, "state"),
            DefinitionsDir = Path.Combine(_dir.Path, "definitions"),
            ProfilesDir = Path.Combine(_dir.Path, "profiles"),
            GcRootsDir = Path.Combine(_dir.Path, "gcroots"),
            IdPool = pool,
        };
        var services = new ServiceCollection()
            .AddContainerD(Config, new LxcTool(Config.EffectiveLxcPath, runner), new NixTool(runner: runner), new AsContainerRoot(runner), new HostNetwork(),
                new SubIdStore(Path.Combine(_dir.Path, "subuid"), Path.Combine(_dir.Path, "subgid"), Path.Combine(_dir.Path, "login.defs")), host)
            .AddSingleton(typeof(ILogger<>), typeof(NullLogger<>));
        _services = services.BuildServiceProvider();
        Store = _services.GetRequiredService<StateStore>();
        Registry = _services.GetRequiredService<ContainerRegistry>();
        Jobs = _services.GetRequiredService<JobManager>();
        Operations = _services.GetRequiredService<Daemon.Operations.Operations>();
        Recovery = _services.GetRequiredService<Recovery>();
        Declarative = _services.GetRequiredService<DeclarativeSync>();
        Reconciler = ActivatorUtilities.CreateInstance<StartupReconciler>(_services);
    }

    public void Dispose()
    {
        _services.Dispose();
        _dir.Dispose();
    }
}
