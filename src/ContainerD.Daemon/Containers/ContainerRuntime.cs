using ContainerD.Daemon.Jobs;
using ContainerD.Domain;
using ContainerD.Domain.Configuration;
using ContainerD.Domain.Definitions;
using ContainerD.Domain.IdMapping;
using ContainerD.Domain.Lxc;
using ContainerD.Domain.Operations;
using ContainerD.Os;
using ContainerD.Os.Filesystem;
using ContainerD.Os.Lxc;
using ContainerD.Os.Net;
using ContainerD.Os.Nix;
using Microsoft.Extensions.Logging;

namespace ContainerD.Daemon.Containers;

/// <summary>
/// A container on the host, as the operations share it: its LXC config and mount plan, asking LXC
/// what it does, booting and stopping it with its network, and removing all it has. Each step is
/// used by several operations (start by create, restart and activation; removal by destroy, a
/// failed create and recovery), so it lives here once.
/// </summary>
public sealed class ContainerRuntime(
    DaemonConfig config,
    StateStore store,
    LxcTool lxc,
    HostNetwork network,
    HostFeatures host,
    ContainerRegistry registry,
    MemberConfinement confinement,
    IdmapNamespaces idmaps,
    ILogger<ContainerRuntime> log)
{
    private ContainerPaths Paths => store.Paths;

    public IReadOnlyList<ProfileGeneration> Generations(string name) => NixTool.ListGenerations(Paths.ProfileDir(registry.Get(name).Name));

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

    /// <summary>
    /// Renders the LXC config and the mount plan in the pure domain and throws what they throw:
    /// a definition this host cannot run (HostUnsupported) fails the call, before Nix builds anything.
    /// </summary>
    public void RequireHostFit(ContainerDefinition definition, IdRange ids)
    {
        var spec = Spec(definition, ids);
        LxcConfigRenderer.Render(spec, host);
        MountPlan.For(spec, host);
    }

    /// <summary>The LXC config and the mount plan its hook reads (for an lxc-start run by hand); returns the plan's mounts.</summary>
    public IReadOnlyList<HostMount> WriteLxcConfig(Container container)
    {
        var spec = Spec(container.Definition, container.Ids);
        string lxcConfig = LxcConfigRenderer.Render(spec, host);
        var mounts = MountPlan.For(spec, host);
        string plan = MountPlan.Serialize(spec.RootfsPath, spec.Ids, mounts, spec.Definition.Ephemeral);
        Directory.CreateDirectory(lxc.ContainerDir(container.Name));
        File.SetUnixFileMode(lxc.ContainerDir(container.Name), StateStore.DirMode);
        WriteIfChanged(MountPlanFile(container.Name), plan);
        WriteIfChanged(lxc.ConfigPath(container.Name), lxcConfig);
        return mounts;
    }

    /// <summary>Boots a stopped container with its network; a container that is already running is left as it is.</summary>
    public async Task StartAsync(Job job, Container container)
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
            confinement.RequireConfinedMounts(container.Definition, ErrorKind.StartFailed);
        }
        SetRunState(container, ContainerState.Starting);
        // Rendered afresh on each start, so a changed host (or daemon) never boots a stale config.
        var mounts = WriteLxcConfig(container);
        Rootfs.Enclose(Paths.StateDir(container.Name), container.Ids.Start);
        // Start's intent, from before lxc-start until the network is made: a crash in between
        // leaves a running container that recovery gives its network (FinishInterruptedStartAsync).
        bool veth = container.Definition.Network.Mode == NetworkMode.Veth;
        if (veth)
        {
            File.OpenHandle(NetworkPendingFile(container.Name), FileMode.OpenOrCreate, FileAccess.Write).Dispose();
        }
        try
        {
            await BootAsync(job, container, mounts).ConfigureAwait(false);
        }
        finally
        {
            if (veth)
            {
                File.Delete(NetworkPendingFile(container.Name));
            }
        }
    }

    private async Task BootAsync(Job job, Container container, IReadOnlyList<HostMount> mounts)
    {
        try
        {
            // The locked mounts, made here as the config's pre-start hook makes them for a hand-run
            // lxc-start (the same HostMounts.Mount, on the host side below the rootfs), without the
            // hook's two processes; lxc-start skips the hooks. Once it returns the container has its
            // own copies, in its namespace, and the host's go.
            string rootfs = Paths.Rootfs(container.Name);
            HostMounts.Unmount(rootfs);
            if (!HostMounts.Mount(rootfs, mounts, container.Ids, container.Definition.Ephemeral, () => idmaps.For(container.Ids)))
            {
                job.Log("the store cannot be idmapped here: mounted plain and read-only, owned by nobody inside");
            }
            await lxc.StartAsync(container.Name, job.Canceled).ConfigureAwait(false);
        }
        finally
        {
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
            FaultInjection.Before(CrashSteps.StartNetwork);
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

    /// <summary>
    /// A start a crash cut short after lxc-start (its network-pending intent is left): a container
    /// that runs gets the host end and port forwards its definition promises (set-up is idempotent);
    /// one that does not has nothing to make (TearDownStaleForwardsAsync takes what it had).
    /// </summary>
    public async Task FinishInterruptedStartAsync(Container container)
    {
        string pending = NetworkPendingFile(container.Name);
        if (!File.Exists(pending))
        {
            return;
        }
        if (container.RunState == ContainerState.Running)
        {
            log.LogWarning("container {Name}: making its network, which a start the daemon did not finish had not made", container.Name);
            try
            {
                await network.SetUpAsync(container.Name, container.Definition.Network, ForwardsFile(container.Name), CancellationToken.None).ConfigureAwait(false);
            }
            catch (ContainerDException e)
            {
                // As a start would: a container without the network its definition promises is not left running.
                log.LogError("container {Name}: stopping it, its network cannot be made: {Message}", container.Name, e.Message);
                await lxc.StopAsync(container.Name, TimeSpan.Zero, force: true, CancellationToken.None).ConfigureAwait(false);
                await RefreshAsync(container).ConfigureAwait(false);
            }
        }
        File.Delete(pending);
    }

    /// <summary>Asks init to power off and kills it after timeout (the definition's stopTimeout when null); force kills at once.</summary>
    public async Task StopAsync(Job job, Container container, bool force, TimeSpan? timeout = null)
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

    /// <summary>
    /// Stops the container if LXC runs it, then removes its LXC dir, its profile and last its state
    /// dir, and frees its range. Safe to repeat: destroy, a failed create's undo and recovery use it.
    /// beforeStep marks destroy's crash steps (destroy passes them; the others do not, so they fire
    /// only in a destroy).
    /// </summary>
    public async Task RemoveAsync(string name, CancellationToken cancellationToken, Job? job = null, bool forceStop = false,
        Action<RemovalStep>? beforeStep = null)
    {
        if ((await lxc.GetStatusAsync(name, cancellationToken).ConfigureAwait(false)).State != ContainerState.Stopped)
        {
            job?.Log($"stopping container {name}");
            if (forceStop)
            {
                log.LogWarning("killing container {Name}: its removal was already under way", name);
            }
            var timeout = registry.Find(name)?.Definition.StopTimeout ?? TimeSpan.FromSeconds(10);
            await lxc.StopAsync(name, timeout, force: forceStop, cancellationToken).ConfigureAwait(false);
            if (registry.Find(name) is { } running)
            {
                await RefreshAsync(running, cancellationToken).ConfigureAwait(false);
            }
        }
        await TearDownNetworkAsync(name).ConfigureAwait(false);
        // Never delete through a mount: a failure here stops the removal (FileTree would refuse too).
        HostMounts.Unmount(Paths.Rootfs(name));
        beforeStep?.Invoke(RemovalStep.DeleteLxcDir);
        FileTree.Delete(lxc.ContainerDir(name));
        beforeStep?.Invoke(RemovalStep.DeleteProfile);
        FileTree.Delete(Paths.ProfileDir(name));
        // The GC roots it made inside (nix.daemon).
        FileTree.Delete(Paths.GcRootsDir(name));
        beforeStep?.Invoke(RemovalStep.DeleteStateDir);
        store.DeleteStateDir(name);
        // The indirect roots that led to those, to its generations and to its state dir's roots: nothing
        // else removes them but a garbage collection.
        GcRoots.RemoveStaleIndirectRoots([MountPlan.GcRootsDir(name), Path.GetFullPath(Paths.ProfileDir(name)), Path.GetFullPath(Paths.StateDir(name))]);
        if (registry.Find(name) is { } gone)
        {
            idmaps.Forget(gone.Ids);
        }
        registry.Free(name);
    }

    /// <summary>Port forwards of containers not running (they stopped while the daemon was down): ours are those with a rules file in our lxcpath.</summary>
    public async Task TearDownStaleForwardsAsync()
    {
        // nftables also holds other daemons' tables, under the same prefix: only our lxcpath tells ours.
        foreach (string name in Directory.EnumerateDirectories(lxc.LxcPath).Select(Path.GetFileName).OfType<string>())
        {
            if (File.Exists(ForwardsFile(name)) && registry.Find(name) is not { RunState: ContainerState.Running })
            {
                log.LogInformation("removing the port forwards of {Name}: it is not running", name);
                await TearDownNetworkAsync(name).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Whatever is mounted on the host below a rootfs: a crashed start's leftovers; never what a running container uses.</summary>
    public void UnmountHostSide(string name)
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

    private void SetRunState(Container container, ContainerState state)
    {
        if (container.SetRuntime(state, container.LeaderPid))
        {
            registry.NotifyChanged(container);
        }
    }

    private string ForwardsFile(string name) => Path.Combine(lxc.ContainerDir(name), "forwards.nft");

    private string NetworkPendingFile(string name) => Path.Combine(lxc.ContainerDir(name), "network-pending");

    private string MountPlanFile(string name) => Path.Combine(lxc.ContainerDir(name), "mounts");

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

    private LxcContainerSpec Spec(ContainerDefinition definition, IdRange ids) => new(WithDefaultLimits(definition), ids, Paths.Rootfs(definition.Name),
        Paths.ProfileDir(definition.Name), lxc.ConsoleLogPath(definition.Name), Hook: new LxcHook(LxcHookCommand.Program, MountPlanFile(definition.Name)),
        GcRootsDir: Paths.GcRootsDir(definition.Name));

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
        bool Applies(string controller) => host.CgroupV2Controllers.Contains(controller) || host.CgroupV1Controllers.Contains(controller);
        var defaults = config.DefaultLimits;
        var applicable = new ResourceLimits(
            Applies("memory") ? defaults.MemoryBytes : null, Applies("cpu") ? defaults.Cpus : null, Applies("pids") ? defaults.Pids : null);
        return definition with { Limits = definition.Limits.Over(applicable) };
    }
}

/// <summary>The points inside a removal that destroy's crash steps name.</summary>
public enum RemovalStep
{
    DeleteLxcDir,
    DeleteProfile,
    DeleteStateDir,
}
