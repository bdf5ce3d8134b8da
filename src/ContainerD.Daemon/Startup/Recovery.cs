using ContainerD.Daemon.Containers;
using ContainerD.Domain;
using ContainerD.Domain.Configuration;
using ContainerD.Domain.Lxc;
using ContainerD.Os;
using ContainerD.Os.Lxc;
using ContainerD.Domain.Definitions;
using ContainerD.Domain.IdMapping;
using ContainerD.Os.Nix;
using ContainerD.Os.Processes;
using Microsoft.Extensions.Logging;

namespace ContainerD.Daemon.Startup;

/// <summary>
/// Recovery, at daemon start before the bus publishes anything: the host made ready (subuid
/// entries, dirs), every container loaded, what a crash interrupted finished or undone by the
/// operation whose intent it finds (create's and destroy's phase, update's and rollback's profile),
/// the uid allocation rebuilt, running containers re-adopted.
/// </summary>
public sealed class Recovery(
    DaemonConfig config,
    StateStore store,
    LxcTool lxc,
    SubIdStore subIds,
    ContainerRegistry registry,
    ContainerRuntime runtime,
    ProfileSteps profiles,
    Snapshots snapshots,
    RootfsSwap rootfsSwap,
    Operations.Operations operations,
    ILogger<Recovery> log)
{
    private const string RootOwner = "root";

    private ContainerPaths Paths => store.Paths;

    /// <summary>
    /// Makes the host ready (subuid entries, dirs), then loads every container: finishes or rolls
    /// back what a crash interrupted, rebuilds the uid allocation, and re-adopts running containers.
    /// </summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        if (config.ManageSubIds)
        {
            subIds.EnsureOwned(RootOwner, config.IdPool);
        }
        else if (!subIds.Covers(RootOwner, config.IdPool))
        {
            throw new ContainerDException(ErrorKind.Failed,
                $"root does not own ids {config.IdPool} in /etc/subuid and /etc/subgid; add 'root:{config.IdPool.Start}:{config.IdPool.Count}' to both or set manageSubIds: true");
        }
        store.EnsureRoot(config.StateDir);
        Directory.CreateDirectory(lxc.LxcPath);
        File.SetUnixFileMode(lxc.LxcPath, StateStore.DirMode);
        registry.ResetAllocator(subIds.ReadForeign(RootOwner));

        // What a killed daemon left running (a nix-build would later write into a state dir that
        // recovery rolls back; an lxc-monitor per crash): ours are those that name our paths.
        var names = store.Names();
        foreach (var orphan in OrphanReaper.Reap([config.StateDir, lxc.LxcPath, .. names.Select(Paths.ProfileDir)]))
        {
            log.LogWarning("killed pid {Pid} ({Command}), left running by a previous daemon", orphan.Pid, string.Join(' ', orphan.Argv.Take(4)));
        }
        foreach (string name in names)
        {
            try
            {
                await RecoverAsync(name, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // One container the daemon cannot load must not keep it from serving the others.
                SkipBroken(name, e);
            }
        }
        EnsureContainersIdsOwned();
        WarnIfUseraddIsCrowded();
        // Start's intent: port forwards of containers that stopped while the daemon was down.
        await runtime.TearDownStaleForwardsAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// A container keeps its ids for life, also when they lie outside today's pool (one made from
    /// the old default pool 100000 + 1e9, say): LXC's newuidmap needs root to own them. With
    /// manageSubIds the daemon adds exactly that container's range when root's lines lack it (the
    /// admin removed the old pool line); without it, a warning says what to add.
    /// </summary>
    private void EnsureContainersIdsOwned()
    {
        foreach (var container in registry.List().Where(c => !config.IdPool.Contains(c.Ids) && !subIds.Covers(RootOwner, c.Ids)))
        {
            var ids = container.Ids;
            if (config.ManageSubIds)
            {
                subIds.EnsureOwned(RootOwner, ids);
                log.LogInformation("container {Name} keeps its ids {Ids} from outside the pool {Pool}: added root:{Start}:{Count} to /etc/subuid and /etc/subgid",
                    container.Name, ids, config.IdPool, ids.Start, ids.Count);
            }
            else
            {
                log.LogWarning("container {Name} cannot start: root does not own its ids {Ids} in /etc/subuid and /etc/subgid; add 'root:{Start}:{Count}' to both",
                    container.Name, ids, ids.Start, ids.Count);
            }
        }
    }

    /// <summary>
    /// useradd gives each new user SUB_UID_COUNT ids from SUB_UID_MIN..SUB_UID_MAX (/etc/login.defs)
    /// that no /etc/subuid line holds, and fails when none are left: say so when root's lines
    /// (the pool, or the old default pool's line) take ids from there.
    /// </summary>
    private void WarnIfUseraddIsCrowded()
    {
        var useradd = subIds.UseraddRanges();
        var (uids, gids) = subIds.OwnedBy(RootOwner);
        foreach (var (file, owned, range) in new[] { ("/etc/subuid", uids, useradd.SubUids), ("/etc/subgid", gids, useradd.SubGids) })
        {
            foreach (var taken in owned.Where(r => r.Overlaps(range)))
            {
                log.LogWarning("root's line root:{Start}:{Count} in {File} takes ids useradd hands out to new users ({Range}, /etc/login.defs): "
                    + "useradd fails once none are left. The pool before December 2026 (100000 + 1000000000) did that; see the README on moving off it",
                    taken.Start, taken.Count, file, range);
            }
        }
    }

    private async Task RecoverAsync(string name, CancellationToken cancellationToken)
    {
        // A start the crash interrupted may have left the host's copies of the mounts; a running
        // container has its own, in its namespace, so this is safe whatever state it is in.
        runtime.UnmountHostSide(name);
        // Before anything that can fail: a container recovery cannot load is skipped, not left frozen.
        await ThawIfFrozenAsync(name).ConfigureAwait(false);
        PersistedState? state = store.Read(name);
        switch (state?.Phase)
        {
            case null:
                // A create (or an import) that never wrote its state: a create from a prebuilt system
                // makes the profile before it, so the name's profile (and whatever else) goes with the dir.
                log.LogWarning("removing {Dir}: a create was interrupted before it wrote its state", Paths.StateDir(name));
                await runtime.RemoveAsync(name, cancellationToken, forceStop: true).ConfigureAwait(false);
                return;
            case Phase.Creating:
                await operations.Create.RollBackInterruptedAsync(name, cancellationToken).ConfigureAwait(false);
                return;
            case Phase.Destroying:
                await operations.Destroy.FinishInterruptedAsync(name, cancellationToken).ConfigureAwait(false);
                return;
        }

        state = profiles.ReconcileInterrupted(state);
        string? yaml = store.ReadDefinition(name);
        if (yaml is null)
        {
            log.LogError("container {Name} has no definition file; leaving it alone", name);
            return;
        }
        var definition = DefinitionParser.Parse(yaml, Paths.DefinitionFile(name), name);
        var container = new Container(state, definition, yaml);
        (container.LastJob, container.LastJobMessage) = store.ReadLastJob(name);
        registry.Load(container);
        await FinishRootfsChangesAsync(container, cancellationToken).ConfigureAwait(false);
        if (!File.Exists(lxc.ConfigPath(name)))
        {
            runtime.WriteLxcConfig(container);
        }
        await runtime.RefreshAsync(container, cancellationToken).ConfigureAwait(false);
        await runtime.FinishInterruptedStartAsync(container).ConfigureAwait(false);
        log.LogInformation("loaded container {Name}: {State}, pid {Pid}, ids {Ids}, generation {Generation}",
            name, container.RunState, container.LeaderPid, container.Ids, state.Generation);
    }

    /// <summary>A container a snapshot or export froze (its marker is left) is thawed.</summary>
    private async Task ThawIfFrozenAsync(string name)
    {
        if (!File.Exists(Paths.FrozenMarker(name)))
        {
            return;
        }
        log.LogWarning("container {Name}: thawing it, frozen for a snapshot or export a crash interrupted", name);
        try
        {
            await lxc.UnfreezeAsync(name).ConfigureAwait(false);
        }
        catch (ContainerDException e)
        {
            // Stopped meanwhile: nothing is frozen any more.
            log.LogWarning("container {Name}: {Message}", name, e.Message);
        }
        File.Delete(Paths.FrozenMarker(name));
    }

    /// <summary>Snapshots a crash cut short are removed, a restore or reset it cut short is done again, whole.</summary>
    private async Task FinishRootfsChangesAsync(Container container, CancellationToken cancellationToken)
    {
        foreach (string partial in snapshots.RemoveInterrupted(container.Name))
        {
            log.LogWarning("container {Name}: removed snapshot {Snapshot}, which a crash interrupted", container.Name, partial);
        }
        switch (rootfsSwap.ReadIntent(container.Name))
        {
            case null:
                rootfsSwap.RemoveStaleReplacement(container.Name);
                break;
            case var intent when RootfsSwap.SnapshotOf(intent) is { } snapshot:
                await operations.Restore.FinishInterruptedAsync(container, snapshot, cancellationToken).ConfigureAwait(false);
                break;
            default:
                await operations.Reset.FinishInterruptedAsync(container).ConfigureAwait(false);
                break;
        }
    }

    /// <summary>
    /// A container recovery failed on: logged and left out, its name and (when state.json says) its
    /// range kept reserved, so that neither is handed out again until a later start loads it.
    /// </summary>
    private void SkipBroken(string name, Exception error)
    {
        string reason = string.Join("; ", error.Message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        log.LogError("container {Name} could not be loaded and is skipped (its name and ids stay reserved; fix it and restart the daemon): {Reason}",
            name, reason);
        if (!registry.MarkBroken(name, reason))
        {
            return; // loaded, only its refresh failed: it stays, as it is
        }
        try
        {
            if (store.Read(name) is { } state)
            {
                registry.Reserve(name, new IdRange(state.UidBase, state.UidSize));
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            log.LogError("container {Name}: its range is unknown ({Message}); new containers may get ids its files still own", name, e.Message);
        }
    }
}
