using System.Collections.Concurrent;
using ContainerD.Daemon.Containers;
using ContainerD.Daemon.Jobs;
using ContainerD.Domain;
using ContainerD.Domain.Configuration;
using ContainerD.Domain.Definitions;
using ContainerD.Os.Filesystem;
using ContainerD.Os.Lxc;
using ContainerD.Os.Nix;
using Microsoft.Extensions.Logging;

namespace ContainerD.Daemon.Operations;

/// <summary>
/// What every operation works with: the daemon's config and state, the tools, the jobs, the
/// registry, and the steps operations share (ContainerRuntime, SystemBuilder, ProfileSteps).
/// An operation takes the kit, so a new one needs no wiring of its own.
/// </summary>
public sealed class OperationKit(
    DaemonConfig config,
    StateStore store,
    NixTool nix,
    JobManager jobs,
    ContainerRegistry registry,
    ContainerRuntime runtime,
    SystemBuilder builder,
    MemberConfinement confinement,
    ProfileSteps profiles,
    LxcTool lxc,
    AsContainerRoot asContainerRoot,
    Snapshots snapshots,
    RootfsSwap rootfsSwap,
    TimeProvider clock,
    ILogger<OperationKit> log)
{
    public DaemonConfig Config => config;
    public StateStore Store => store;
    public ContainerPaths Paths => store.Paths;
    public NixTool Nix => nix;
    public JobManager Jobs => jobs;
    public ContainerRegistry Registry => registry;
    public ContainerRuntime Runtime => runtime;
    public SystemBuilder Builder => builder;
    public MemberConfinement Confinement => confinement;
    public ProfileSteps Profiles => profiles;
    public LxcTool Lxc => lxc;
    public AsContainerRoot AsContainerRoot => asContainerRoot;
    public Snapshots Snapshots => snapshots;
    public RootfsSwap RootfsSwap => rootfsSwap;
    public TimeProvider Clock => clock;
    public ILogger Log => log;

    /// <summary>The containers a job holds frozen now, and that job.</summary>
    private readonly ConcurrentDictionary<string, Job> _frozen = new(StringComparer.Ordinal);

    /// <summary>A job for an existing container; found and started together, so a destroy cannot come between.</summary>
    public Job ForExisting(string name, string operation, Func<Job, Container, Task> steps) =>
        registry.Atomically(() =>
        {
            var container = registry.Get(name);
            return jobs.Start(name, operation, job => steps(job, container));
        });

    /// <summary>
    /// For a new container (create, import), inside Registry.Atomically: the name must be free and
    /// not being made by a job already; then it gets its range.
    /// </summary>
    public Domain.IdMapping.IdRange ClaimName(string name, long size, long? fixedBase)
    {
        registry.RequireUnused(name);
        if (jobs.ActiveFor(name) is { } running)
        {
            throw new ContainerDException(ErrorKind.Busy,
                $"container '{name}' is being made by job {running.Id} ({running.Operation}); wait for it, cancel it with 'containerctl cancel {running.Id}', or pick another name");
        }
        // No container of ours has it (recovery removed what a crashed create left): someone else's, such as
        // nixos-container's, which keeps its profiles in the same directory. Ours would add to it, and destroy delete it.
        if (Directory.Exists(Paths.ProfileDir(name)))
        {
            throw new ContainerDException(ErrorKind.AlreadyExists,
                $"{Paths.ProfileDir(name)} exists and belongs to no container of containerctld (a nixos-container of that name?): pick another name, or remove it if nothing uses it");
        }
        return registry.Allocate(name, size, fixedBase);
    }

    /// <summary>A definition as the container's source names it in errors: its declaration file, or the definition given over the bus.</summary>
    public ContainerDefinition Parse(string yaml, string name, bool declarative) =>
        DefinitionParser.Parse(yaml, declarative ? Paths.DeclarativeFile(name) : $"definition of '{name}'", name);

    /// <summary>
    /// Runs a change that needs the container stopped (restart, restore, reset): a running one is
    /// stopped (its init powers off) and started again after the work — or always, with start. That
    /// it is to be started again is on disk before the stop (ProfileSteps.MarkRestartPending); the
    /// job's end clears it, done or failed, so only a daemon that died in between leaves it.
    /// </summary>
    public async Task WhileStoppedAsync(Job job, Container container, string change, Func<Task> work, bool start = false)
    {
        await runtime.RefreshAsync(container).ConfigureAwait(false);
        bool wasRunning = container.RunState != ContainerState.Stopped;
        if (wasRunning)
        {
            profiles.MarkRestartPending(container);
            job.Log($"stopping {container.Name} for the {change}; it is started again afterwards");
            await runtime.StopAsync(job, container, force: false).ConfigureAwait(false);
        }
        try
        {
            await work().ConfigureAwait(false);
            if (wasRunning || start)
            {
                await runtime.StartAsync(job, container).ConfigureAwait(false);
            }
        }
        finally
        {
            profiles.ClearRestartPending(container);
        }
    }

    /// <summary>
    /// Runs work on the container's root with its processes frozen (when it runs), so the root holds
    /// still: one instant of it. The marker is written first, so a crash meanwhile is thawed at the
    /// next start rather than left frozen; a freeze that failed or was canceled half-way is thawed
    /// too (the freezer may have begun), and a SIGTERM thaws it before the daemon exits (ThawBeforeExitAsync).
    /// </summary>
    public async Task WhileFrozenAsync(Job job, Container container, string why, Func<Task> work)
    {
        await runtime.RefreshAsync(container).ConfigureAwait(false);
        bool freeze = container.RunState == ContainerState.Running;
        try
        {
            if (freeze)
            {
                job.Log($"freezing {container.Name} while {why}");
                File.OpenHandle(Paths.FrozenMarker(container.Name), FileMode.OpenOrCreate, FileAccess.Write).Dispose();
                _frozen[container.Name] = job;
                await lxc.FreezeAsync(container.Name, job.Canceled).ConfigureAwait(false);
            }
            await work().ConfigureAwait(false);
        }
        finally
        {
            if (freeze)
            {
                // Throws when it cannot thaw: the marker then stays, and the next start tries again.
                await lxc.UnfreezeAsync(container.Name).ConfigureAwait(false);
                _frozen.TryRemove(container.Name, out _);
            }
            File.Delete(Paths.FrozenMarker(container.Name));
        }
    }

    /// <summary>
    /// The daemon is stopping (SIGTERM) and does not wait for its jobs: a job that holds a container
    /// frozen is canceled and the container thawed now, rather than left frozen until the daemon
    /// starts again (which may be never). The marker stays for the next start, in case the job froze
    /// it again before it saw the cancel.
    /// </summary>
    public async Task ThawBeforeExitAsync()
    {
        foreach (var (name, job) in _frozen)
        {
            job.Cancel();
            log.LogWarning("thawing container {Name} before the daemon exits: job {Id} ({Operation}) froze it and is canceled", name, job.Id, job.Operation);
            try
            {
                await lxc.UnfreezeAsync(name).ConfigureAwait(false);
            }
            catch (ContainerDException e)
            {
                log.LogWarning("container {Name}: {Message}", name, e.Message);
            }
        }
    }

    /// <summary>An ephemeral container's root lives in memory and starts empty at each boot: there is nothing on disk to keep or replace.</summary>
    public static void RefuseIfEphemeral(Container container, string what)
    {
        if (container.Definition.Ephemeral)
        {
            throw new ContainerDException(ErrorKind.InvalidArgs,
                $"container '{container.Name}' is ephemeral: its root lives in memory and starts empty at each boot, so there is nothing to {what}");
        }
    }

    /// <summary>A container's declaration file, while it exists, owns the container: its definition and its life.</summary>
    public void RefuseIfDeclared(Container container, string what)
    {
        if (container.State.Declarative && File.Exists(Paths.DeclarativeFile(container.Name)))
        {
            throw new ContainerDException(ErrorKind.Declarative,
                $"container '{container.Name}' is declared in {Paths.DeclarativeFile(container.Name)}, which owns it: {what}");
        }
    }
}
