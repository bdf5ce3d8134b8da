using ContainerD.Daemon.Jobs;
using ContainerD.Domain;
using ContainerD.Domain.Definitions;
using ContainerD.Domain.IdMapping;
using ContainerD.Domain.Lxc;
using ContainerD.Domain.Operations;
using ContainerD.Os;
using ContainerD.Os.Filesystem;
using ContainerD.Os.Nix;
using Microsoft.Extensions.Logging;

namespace ContainerD.Daemon.Containers;

/// <summary>Create, start, stop, restart and destroy, and their steps.</summary>
public sealed partial class ContainerService
{
    // ---- Changes (each returns its job at once) ----

    public Job Create(string name, string yaml, Caller caller)
    {
        ContainerName.Require(name);
        if (File.Exists(Paths.DeclarativeFile(name)))
        {
            throw new ContainerDException(ErrorKind.AlreadyExists,
                $"container '{name}' is declared in {Paths.DeclarativeFile(name)}: the daemon creates it from there; pick another name");
        }
        return CreateCore(name, yaml, declarative: false, caller);
    }

    private Job CreateCore(string name, string yaml, bool declarative, Caller caller)
    {
        ContainerName.Require(name);
        var definition = DefinitionParser.Parse(yaml, DefinitionSource(name, declarative), name);
        RequireStorePathExists(definition);
        RequireConfined(definition, caller);
        return registry.Atomically(() =>
        {
            registry.RequireUnused(name);
            if (jobs.ActiveFor(name) is { } running)
            {
                throw new ContainerDException(ErrorKind.Busy,
                    $"container '{name}' is being created by job {running.Id}; wait for it or cancel it with 'containerctl cancel {running.Id}'");
            }
            IdRange ids = registry.Allocate(name, definition.IdMap.Size, definition.IdMap.Base);
            try
            {
                RequireHostFit(definition, ids);
            }
            catch
            {
                registry.Free(name);
                throw;
            }
            return jobs.Start(name, "create", async job =>
            {
                await CreateStepsAsync(job, definition, yaml, ids, declarative, caller).ConfigureAwait(false);
                // A declared container with autostart is wanted running, like NixOS units.
                if (declarative && definition.Autostart)
                {
                    await StartStepsAsync(job, Get(name)).ConfigureAwait(false);
                }
            });
        });
    }

    public Job Start(string name) => StartJob(name, "start", (job, container) => StartStepsAsync(job, container));

    /// <summary>Asks init to power off and kills it after timeout (the definition's stopTimeout when null); force kills at once.</summary>
    public Job Stop(string name, bool force, TimeSpan? timeout = null) =>
        StartJob(name, "stop", (job, container) => StopStepsAsync(job, container, force, timeout));

    public Job Restart(string name) => StartJob(name, "restart", async (job, container) =>
    {
        await StopStepsAsync(job, container, force: false).ConfigureAwait(false);
        await StartStepsAsync(job, container).ConfigureAwait(false);
    });

    public Job Destroy(string name)
    {
        RefuseIfDeclared(Get(name), "remove that file to destroy it (with pruneDeclarative: true the daemon destroys it at its next start)");
        return StartJob(name, "destroy", DestroyStepsAsync);
    }

    // ---- The steps ----

    private async Task CreateStepsAsync(Job job, ContainerDefinition definition, string yaml, IdRange ids, bool declarative, Caller caller)
    {
        string name = definition.Name;
        var state = new PersistedState
        {
            Name = name,
            UidBase = ids.Start,
            UidSize = ids.Count,
            CreatedAt = clock.GetUtcNow(),
            Phase = Phase.Creating,
            Declarative = declarative,
            MemberDefinition = !caller.IsRoot,
        };
        try
        {
            FaultInjection.Before(CrashSteps.CreateWriteState);
            store.CreateStateDir(name);
            store.Write(state);
            FaultInjection.Before(CrashSteps.CreateWriteDefinition);
            store.WriteDefinition(name, yaml);
            FaultInjection.Before(CrashSteps.CreateBuild);
            string system = await BuildSystemAsync(job, definition, caller).ConfigureAwait(false);
            FaultInjection.Before(CrashSteps.CreateSetProfile);
            int generation = await nix.SetProfileAsync(Paths.ProfileDir(name), system, job.Canceled).ConfigureAwait(false);
            File.Delete(Paths.BuildLink(name));
            job.Log($"profile {Paths.ProfileDir(name)}/system is generation {generation}: {system}");
            store.WriteGenerationDefinition(name, generation, yaml);
            FaultInjection.Before(CrashSteps.CreateMakeRootfs);
            Rootfs.Create(Paths.Rootfs(name), ids.Start);
            Rootfs.Enclose(Paths.StateDir(name), ids.Start);
            state = state with { Phase = Phase.Ready, Generation = generation, SystemPath = system, DefinitionHash = DefinitionHash.Of(yaml) };
            var container = new Container(state, definition, yaml);
            FaultInjection.Before(CrashSteps.CreateWriteLxcConfig);
            WriteLxcConfig(container);
            FaultInjection.Before(CrashSteps.CreateMarkReady);
            store.Write(state);
            job.Log($"created container {name} with uids and gids {ids}");
            registry.Add(container);
        }
        catch
        {
            await RemoveEverythingAsync(name, CancellationToken.None).ConfigureAwait(false);
            throw;
        }
    }


    private async Task StartStepsAsync(Job job, Container container)
    {
        await RefreshAsync(container).ConfigureAwait(false);
        if (container.RunState == ContainerState.Running)
        {
            job.Log($"container {container.Name} is already running (pid {container.LeaderPid})");
            return;
        }
        if (container.State.MemberDefinition)
        {
            // Again at each start: what a member's definition binds must still be reached through
            // directories only root can change. What does not exist yet, the pre-start hook makes
            // as root, 0755, following no symlink.
            RequireConfinedMounts(container.Definition, ErrorKind.StartFailed);
        }
        SetRunState(container, ContainerState.Starting);
        // Rendered afresh on each start, so a changed host (or daemon) never boots a stale config.
        WriteLxcConfig(container);
        Rootfs.Enclose(Paths.StateDir(container.Name), container.Ids.Start);
        try
        {
            // LXC's pre-start hook makes the mounts (MountPlan), its start-host hook drops the host's copies.
            await lxc.StartAsync(container.Name, job.Canceled).ConfigureAwait(false);
        }
        catch (ContainerDException e) when (e.Kind == ErrorKind.StartFailed && File.Exists(LxcHookCommand.ErrorFile(MountPlanFile(container.Name))))
        {
            throw new ContainerDException(ErrorKind.StartFailed,
                $"container '{container.Name}' did not start: {File.ReadAllText(LxcHookCommand.ErrorFile(MountPlanFile(container.Name))).Trim()}");
        }
        finally
        {
            // Only a failed start leaves host-side copies; the container keeps its own, in its namespace.
            UnmountHostSide(container.Name);
            await RefreshAsync(container).ConfigureAwait(false);
        }
        if (container.RunState != ContainerState.Running)
        {
            throw new ContainerDException(ErrorKind.StartFailed,
                $"container '{container.Name}' is {container.RunState.ToWire()} after lxc-start; see {lxc.LogPath(container.Name)} and {lxc.ConsoleLogPath(container.Name)}");
        }
        try
        {
            await network.SetUpAsync(container.Name, container.Definition.Network, ForwardsFile(container.Name), job.Canceled).ConfigureAwait(false);
        }
        catch
        {
            // A container without the network its definition promises is not started: stop it again.
            await lxc.StopAsync(container.Name, TimeSpan.Zero, force: true, CancellationToken.None).ConfigureAwait(false);
            await RefreshAsync(container).ConfigureAwait(false);
            throw;
        }
        job.Log($"container {container.Name} is running, init pid {container.LeaderPid}");
    }

    /// <summary>A member's definition: bind sources only under bindSourceRoots, through root's directories, never idmapped.</summary>
    private void RequireConfined(ContainerDefinition definition, Caller caller)
    {
        if (!caller.IsRoot)
        {
            if (definition.System is FlakeSystem)
            {
                // Nix copies a local flake's whole directory into the world-readable store, as root.
                throw new ContainerDException(ErrorKind.AccessDenied,
                    $"container '{definition.Name}': flake systems are for root only (Nix copies the flake's directory into the store as root); a member may give system.nix or system.path");
            }
            RequireConfinedMounts(definition, ErrorKind.AccessDenied);
        }
    }

    private void RequireConfinedMounts(ContainerDefinition definition, ErrorKind kind)
    {
        var problems = definition.BindMounts.Select(m => Confinement.Problem(m, config.BindSourceRoots.Paths)).OfType<string>().ToList();
        if (problems.Count > 0)
        {
            throw new ContainerDException(kind, $"container '{definition.Name}' (a definition from a member of group '{config.AdminGroup}', not root): {string.Join("; ", problems)}");
        }
    }

    /// <summary>For a caller other than root: its Nix file is read with its rights and evaluated in restricted mode.</summary>
    private NixConfinement? NixConfinementFor(Caller caller, string name) =>
        caller.IsRoot ? null : new NixConfinement(caller.Uid, Path.Combine(config.StateDir, "eval", $"{name}-{Guid.NewGuid():N}"));

    /// <summary>Whatever is mounted on the host below a rootfs: a crashed start's leftovers; never what a running container uses.</summary>
    private void UnmountHostSide(string name)
    {
        try
        {
            if (HostMounts.Unmount(Paths.Rootfs(name)) is > 0 and var count)
            {
                log.LogDebug("unmounted {Count} host-side mounts below the rootfs of {Name}", count, name);
            }
        }
        catch (IOException e)
        {
            log.LogWarning("cannot unmount what is mounted below the rootfs of {Name}: {Message}", name, e.Message);
        }
    }

    private async Task StopStepsAsync(Job job, Container container, bool force, TimeSpan? timeout = null)
    {
        await RefreshAsync(container).ConfigureAwait(false);
        if (container.RunState == ContainerState.Stopped)
        {
            job.Log($"container {container.Name} is not running");
            return;
        }
        SetRunState(container, ContainerState.Stopping);
        var stopTimeout = timeout ?? container.Definition.StopTimeout;
        try
        {
            if (await lxc.StopAsync(container.Name, stopTimeout, force, job.Canceled).ConfigureAwait(false))
            {
                job.Log($"container {container.Name} did not power off within {stopTimeout.TotalSeconds:0.#} s: killed it");
            }
        }
        finally
        {
            await RefreshAsync(container).ConfigureAwait(false);
        }
        if (container.RunState == ContainerState.Stopped)
        {
            // Done here too, not only on the state change: lxc-monitor may have seen that first.
            await TearDownNetworkAsync(container.Name).ConfigureAwait(false);
        }
        job.Log($"container {container.Name} is {container.RunState.ToWire()}");
    }

    private async Task DestroyStepsAsync(Job job, Container container)
    {
        string name = container.Name;
        FaultInjection.Before(CrashSteps.DestroyMarkDestroying);
        store.MarkDestroying(name);
        container.SetState(container.State with { Phase = Phase.Destroying });
        FaultInjection.Before(CrashSteps.DestroyStop);
        await RemoveEverythingAsync(name, CancellationToken.None, job, destroying: true).ConfigureAwait(false);
        job.Log($"destroyed container {name}; ids {container.Ids} are free again");
        registry.Remove(container);
    }

    /// <summary>
    /// Stops the container if LXC runs it, then removes its LXC dir, its profile and last its state
    /// dir, and frees its range. Safe to repeat: used by destroy, failed creates and recovery.
    /// Destroy's crash steps are destroy's: they fire only when destroying, never in a failed
    /// create's rollback or in recovery.
    /// </summary>
    private async Task RemoveEverythingAsync(string name, CancellationToken cancellationToken, Job? job = null, bool forceStop = false, bool destroying = false)
    {
        if ((await lxc.GetStatusAsync(name, cancellationToken).ConfigureAwait(false)).State != ContainerState.Stopped)
        {
            job?.Log($"stopping container {name}");
            if (forceStop)
            {
                log.LogWarning("killing container {Name}: its removal was already under way", name);
            }
            var timeout = Find(name)?.Definition.StopTimeout ?? TimeSpan.FromSeconds(10);
            await lxc.StopAsync(name, timeout, force: forceStop, cancellationToken).ConfigureAwait(false);
            if (Find(name) is { } running)
            {
                await RefreshAsync(running, cancellationToken).ConfigureAwait(false);
            }
        }
        await TearDownNetworkAsync(name).ConfigureAwait(false);
        // Never delete through a mount: a failure here stops the destroy (FileTree would refuse too).
        HostMounts.Unmount(Paths.Rootfs(name));
        if (destroying)
        {
            FaultInjection.Before(CrashSteps.DestroyDeleteLxcDir);
        }
        DeleteDirectory(lxc.ContainerDir(name));
        if (destroying)
        {
            FaultInjection.Before(CrashSteps.DestroyDeleteProfile);
        }
        DeleteDirectory(Paths.ProfileDir(name));
        // The GC roots it made inside (nix.daemon), and the daemon's indirect roots that led to them.
        DeleteDirectory(Paths.GcRootsDir(name));
        GcRoots.RemoveStaleIndirectRoots(MountPlan.GcRootsDir(name));
        if (destroying)
        {
            FaultInjection.Before(CrashSteps.DestroyDeleteStateDir);
        }
        store.DeleteStateDir(name);
        registry.Free(name);
    }
}
