using ContainerD.Daemon.Jobs;
using ContainerD.Domain;
using ContainerD.Domain.Configuration;
using ContainerD.Domain.Definitions;
using ContainerD.Domain.IdMapping;
using ContainerD.Domain.Lxc;
using ContainerD.Os;
using ContainerD.Os.Filesystem;
using ContainerD.Os.Lxc;
using ContainerD.Os.Net;
using ContainerD.Os.Nix;
using ContainerD.Os.Processes;
using Microsoft.Extensions.Logging;

namespace ContainerD.Daemon.Containers;

/// <summary>
/// The containers and every change to them. Each change is a job; each multi-step change
/// persists its intent first (Phase) so that a crash at any step is finished or rolled back
/// by the next start, with no range, state dir, LXC config or profile left behind.
/// </summary>
public sealed partial class ContainerService(
    DaemonConfig config,
    StateStore store,
    LxcTool lxc,
    NixTool nix,
    SubIdStore subIds,
    HostNetwork network,
    HostFeatures host,
    JobManager jobs,
    ContainerRegistry registry,
    TimeProvider clock,
    ILogger<ContainerService> log)
{
    private const string RootOwner = "root";
    /// <summary>What the host can do; loses IdmappedMounts if the kernel or filesystem turns out unable.</summary>
    private HostFeatures _host = host;

    private ContainerPaths Paths => store.Paths;

    // ---- Reads (the registry's) ----

    public IReadOnlyList<Container> List() => registry.List();

    /// <summary>The container of that name: InvalidName for a name that cannot be one, else NoSuchContainer.</summary>
    public Container Get(string name) => registry.Get(name);

    /// <summary>The container of that name, or null.</summary>
    public Container? Find(string name) => registry.Find(name);

    public IReadOnlyList<ProfileGeneration> Generations(string name) => NixTool.ListGenerations(Paths.ProfileDir(Get(name).Name));

    /// <summary>Asks LXC what the container is doing now; raises Changed when that differs.</summary>
    public async Task RefreshAsync(Container container, CancellationToken cancellationToken = default)
    {
        // One refresh at a time per container, asking and applying together: a job's refresh and one
        // for a monitor event could otherwise apply a stale "stopped" over a newer "running" (and tear
        // down the forwards of a running container).
        await container.RefreshLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var status = await lxc.GetStatusAsync(container.Name, cancellationToken).ConfigureAwait(false);
            if (container.SetRuntime(status.State, status.Pid))
            {
                if (status.State == ContainerState.Stopped)
                {
                    // Stopped, by us or behind our back: its port forwards must not outlive it.
                    await TearDownNetworkAsync(container.Name).ConfigureAwait(false);
                }
                registry.NotifyChanged(container);
            }
        }
        finally
        {
            container.RefreshLock.Release();
        }
    }

    /// <summary>A container's declaration file, while it exists, owns the container: its definition and its life.</summary>
    private void RefuseIfDeclared(Container container, string what)
    {
        if (container.State.Declarative && File.Exists(Paths.DeclarativeFile(container.Name)))
        {
            throw new ContainerDException(ErrorKind.Declarative,
                $"container '{container.Name}' is declared in {Paths.DeclarativeFile(container.Name)}, which owns it: {what}");
        }
    }

    /// <summary>Keeps how each job ended with its container (LastJob), across daemon restarts.</summary>
    private void OnJobRemoved(Job job, JobOutcome outcome)
    {
        if (Find(job.Container) is not { } container || container.State.Phase == Phase.Destroying)
        {
            return;
        }
        container.LastJob = $"{job.Operation} {outcome.Result}";
        container.LastJobMessage = outcome.Message;
        try
        {
            store.WriteLastJob(container.Name, container.LastJob, container.LastJobMessage);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            log.LogWarning("cannot record the last job of {Name}: {Message}", container.Name, e.Message);
        }
        registry.NotifyChanged(container);
    }

    private string ForwardsFile(string name) => Path.Combine(lxc.ContainerDir(name), "forwards.nft");

    private async Task TearDownNetworkAsync(string name)
    {
        try
        {
            await network.TearDownAsync(name, ForwardsFile(name)).ConfigureAwait(false);
        }
        catch (ContainerDException e)
        {
            log.LogWarning("removing the port forwards of {Name} failed: {Message}", name, e.Message);
        }
    }

    /// <summary>A prebuilt system that is not there is bad input: say so now, before anything is made.</summary>
    private static void RequireStorePathExists(ContainerDefinition definition)
    {
        if (definition.System is StorePathSystem { Path: var path } && !Directory.Exists(path))
        {
            throw new ContainerDException(ErrorKind.InvalidDefinition,
                $"system.path {path} does not exist: build the system or copy its closure into the store first (nix-store --realise / nix copy)");
        }
    }

    /// <summary>A job for an existing container; found and started together, so a destroy cannot come between.</summary>
    private Job StartJob(string name, string operation, Func<Job, Container, Task> steps) =>
        registry.Atomically(() =>
        {
            var container = Get(name);
            return jobs.Start(name, operation, job => steps(job, container));
        });

    private string MountPlanFile(string name) => Path.Combine(lxc.ContainerDir(name), "mounts");

    private LxcContainerSpec Spec(Container container) => Spec(container.Definition, container.Ids);

    private LxcContainerSpec Spec(ContainerDefinition definition, IdRange ids) => new(WithDefaultLimits(definition), ids, Paths.Rootfs(definition.Name),
        Paths.ProfileDir(definition.Name), lxc.ConsoleLogPath(definition.Name), Hook: new LxcHook(LxcHookCommand.Program, MountPlanFile(definition.Name)),
        GcRootsDir: Paths.GcRootsDir(definition.Name));

    /// <summary>
    /// Renders the LXC config and the mount plan in the pure domain and throws what they throw:
    /// a definition this host cannot run (HostUnsupported) fails the call, before Nix builds anything.
    /// </summary>
    private void RequireHostFit(ContainerDefinition definition, IdRange ids)
    {
        var spec = Spec(definition, ids);
        LxcConfigRenderer.Render(spec, _host);
        MountPlan.For(spec, _host);
    }

    /// <summary>The LXC config and the mount plan its hook reads.</summary>
    private void WriteLxcConfig(Container container)
    {
        var spec = Spec(container);
        string config = LxcConfigRenderer.Render(spec, _host);
        string plan = MountPlan.Serialize(spec.RootfsPath, spec.Ids, MountPlan.For(spec, _host), spec.Definition.Ephemeral);
        Directory.CreateDirectory(lxc.ContainerDir(container.Name));
        File.SetUnixFileMode(lxc.ContainerDir(container.Name), StateStore.DirMode);
        WriteIfChanged(MountPlanFile(container.Name), plan);
        WriteIfChanged(lxc.ConfigPath(container.Name), config);
    }

    /// <summary>Rendered on every start, written only when it changed: an fsync'd write costs milliseconds.</summary>
    private static void WriteIfChanged(string path, string text)
    {
        if (!File.Exists(path) || File.ReadAllText(path) != text)
        {
            AtomicFile.Write(path, text, StateStore.FileMode);
        }
    }

    /// <summary>
    /// The daemon's defaultLimits fill what the definition leaves unset. A definition's limit that no
    /// cgroup controller can apply is an error; a default one is left out on such a host.
    /// </summary>
    private ContainerDefinition WithDefaultLimits(ContainerDefinition definition)
    {
        bool Applies(string controller) => _host.CgroupV2Controllers.Contains(controller) || _host.CgroupV1Controllers.Contains(controller);
        var defaults = config.DefaultLimits;
        var applicable = new ResourceLimits(
            Applies("memory") ? defaults.MemoryBytes : null, Applies("cpu") ? defaults.Cpus : null, Applies("pids") ? defaults.Pids : null);
        return definition with { Limits = definition.Limits.Over(applicable) };
    }

    private void SetRunState(Container container, ContainerState state)
    {
        if (container.SetRuntime(state, container.LeaderPid))
        {
            registry.NotifyChanged(container);
        }
    }

    private string DefinitionSource(string name, bool declarative) =>
        declarative ? Paths.DeclarativeFile(name) : $"definition of '{name}'";

    private static void DeleteDirectory(string path) => FileTree.Delete(path);
}
