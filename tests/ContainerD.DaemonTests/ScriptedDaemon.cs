using ContainerD.Daemon.Containers;
using ContainerD.Daemon.Jobs;
using ContainerD.Domain.Configuration;
using ContainerD.Domain.IdMapping;
using ContainerD.Domain.Lxc;
using ContainerD.Os;
using ContainerD.Os.Lxc;
using ContainerD.Os.Net;
using ContainerD.Os.Nix;
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
    public ContainerService Containers { get; }

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
        Store = new StateStore(new ContainerPaths(Config));
        Registry = new ContainerRegistry(Config);
        Jobs = new JobManager(Config, NullLogger<JobManager>.Instance);
        Containers = new ContainerService(Config, Store, new LxcTool(Config.EffectiveLxcPath, runner), new NixTool(runner: runner),
            new SubIdStore(Path.Combine(_dir.Path, "subuid"), Path.Combine(_dir.Path, "subgid"), Path.Combine(_dir.Path, "login.defs")),
            new HostNetwork(), host, Jobs, Registry, TimeProvider.System, NullLogger<ContainerService>.Instance);
    }

    public void Dispose() => _dir.Dispose();
}
