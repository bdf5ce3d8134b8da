using ContainerD.Domain;
using ContainerD.Domain.Definitions;
using ContainerD.Domain.IdMapping;
using ContainerD.Os.Nix;
using ContainerD.Os.Processes;
using Microsoft.Extensions.Logging;

namespace ContainerD.Daemon.Containers;

/// <summary>Daemon start: recovery of interrupted changes, declarative definitions, autostart.</summary>
public sealed partial class ContainerService
{
    // One apply of DefinitionsDir at a time (start-up, reloads, deferred files); the names whose
    // container was busy at the last apply, applied when their job ends.
    private readonly Lock _declarativeLock = new();
    private readonly HashSet<string> _deferredDeclarative = new(StringComparer.Ordinal);
    private bool _watchingJobs;

    // ---- Start-up ----

    /// <summary>
    /// Makes the host ready (subuid entries, dirs), then loads every container: finishes or rolls
    /// back what a crash interrupted, rebuilds the uid allocation, and re-adopts running containers.
    /// </summary>
    public async Task LoadAsync(CancellationToken cancellationToken)
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
        jobs.JobRemoved -= OnJobRemoved;
        jobs.JobRemoved += OnJobRemoved;
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
        // Port forwards of containers that stopped while the daemon was down: ours are those with a
        // rules file in our lxcpath (nftables also holds other daemons' tables, under the same prefix).
        foreach (string name in Directory.EnumerateDirectories(lxc.LxcPath).Select(Path.GetFileName).OfType<string>())
        {
            if (File.Exists(ForwardsFile(name)) && Find(name) is not { RunState: ContainerState.Running })
            {
                log.LogInformation("removing the port forwards of {Name}: it is not running", name);
                await TearDownNetworkAsync(name).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// A container keeps its ids for life, also when they lie outside today's pool (one made from
    /// the old default pool 100000 + 1e9, say): LXC's newuidmap needs root to own them. With
    /// manageSubIds the daemon adds exactly that container's range when root's lines lack it (the
    /// admin removed the old pool line); without it, a warning says what to add.
    /// </summary>
    private void EnsureContainersIdsOwned()
    {
        foreach (var container in List().Where(c => !config.IdPool.Contains(c.Ids) && !subIds.Covers(RootOwner, c.Ids)))
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
        UnmountHostSide(name);
        PersistedState? state = store.Read(name);
        switch (state?.Phase)
        {
            case null:
                log.LogWarning("removing {Dir}: a create was interrupted before it wrote its state", Paths.StateDir(name));
                store.DeleteStateDir(name);
                return;
            case Phase.Creating:
                log.LogWarning("rolling back the interrupted create of container {Name}", name);
                await RemoveEverythingAsync(name, cancellationToken, forceStop: true).ConfigureAwait(false);
                return;
            case Phase.Destroying:
                // The destroy had been asked for: its container is killed at once, not asked to power
                // off (an init that ignores SIGPWR would hold up the start for its whole stop timeout).
                log.LogWarning("finishing the interrupted destroy of container {Name}", name);
                await RemoveEverythingAsync(name, cancellationToken, forceStop: true).ConfigureAwait(false);
                return;
        }

        state = ReconcileProfile(state);
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
        if (!File.Exists(lxc.ConfigPath(name)))
        {
            WriteLxcConfig(container);
        }
        await RefreshAsync(container, cancellationToken).ConfigureAwait(false);
        log.LogInformation("loaded container {Name}: {State}, pid {Pid}, ids {Ids}, generation {Generation}",
            name, container.RunState, container.LeaderPid, container.Ids, state.Generation);
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

    /// <summary>
    /// Generations committed before a crash but never brought to their running container (the
    /// crash fell between nix-env and the end of activation): activated now, each as a job.
    /// </summary>
    public void ResumeInterruptedActivations()
    {
        foreach (var container in List().Where(c => c.State.ActivationPending))
        {
            if (container.RunState != ContainerState.Running)
            {
                log.LogInformation("container {Name} is not running: it boots generation {Generation} at its next start", container.Name, container.State.Generation);
                ClearActivationPending(container);
                continue;
            }
            try
            {
                StartJob(container.Name, "activate", async (job, c) =>
                {
                    job.Log($"generation {c.State.Generation} of {c.Name} was committed before the daemon stopped but not activated; activating it now");
                    await ActivateAsync(job, c, c.State.SystemPath ?? "").ConfigureAwait(false);
                });
                log.LogWarning("container {Name}: activating generation {Generation}, committed before the daemon stopped but never activated",
                    container.Name, container.State.Generation);
            }
            catch (ContainerDException e)
            {
                log.LogWarning("container {Name}: generation {Generation} is not activated yet ({Message})", container.Name, container.State.Generation, e.Message);
            }
        }
    }

    /// <summary>
    /// The profile is the truth about generations. A crash between nix-env and the state write
    /// (update, rollback) left them apart: adopt the profile's generation and commit a pending
    /// definition; if the profile never moved, discard the pending definition.
    /// </summary>
    private PersistedState ReconcileProfile(PersistedState state)
    {
        string name = state.Name;
        int? profileGeneration = NixTool.CurrentGeneration(Paths.ProfileDir(name));
        File.Delete(Paths.BuildLink(name));
        if (profileGeneration is not { } generation || generation == state.Generation)
        {
            store.DiscardPendingDefinition(name);
            return state;
        }
        log.LogWarning("container {Name}: finishing an interrupted change to generation {Generation}", name, generation);
        string? yaml = store.CommitPendingDefinition(name) ? store.ReadDefinition(name) : null;
        if (yaml is null && store.ReadGenerationDefinition(name, generation) is { } kept)
        {
            // An interrupted rollback: the definition follows the generation.
            store.WriteDefinition(name, kept);
            yaml = kept;
        }
        else if (yaml is not null)
        {
            store.WriteGenerationDefinition(name, generation, yaml);
        }
        state = state with
        {
            Generation = generation,
            SystemPath = NixTool.CurrentSystem(Paths.ProfileDir(name)),
            DefinitionHash = yaml is null ? state.DefinitionHash : DefinitionHash.Of(yaml),
            // The change never reached its activation: ResumeInterruptedActivations does it.
            ActivationPending = true,
        };
        store.Write(state);
        return state;
    }

    /// <summary>
    /// Brings containers in line with DefinitionsDir, at daemon start and at each reload (SIGHUP):
    /// a new file is created, a changed one (by hash) applied as an update, a vanished one destroyed
    /// only when pruneDeclarative is on. Unchanged files start nothing. A file whose container is
    /// busy with a job is applied when that job ends. Returns what it began.
    /// </summary>
    public DeclarativeChanges ApplyDeclarativeDefinitions()
    {
        lock (_declarativeLock)
        {
            var changes = new DeclarativeChanges();
            List<string> declared;
            try
            {
                declared = Directory.Exists(config.DefinitionsDir)
                    ? Directory.EnumerateFiles(config.DefinitionsDir, "*.yaml").Order(StringComparer.Ordinal).ToList()
                    : [];
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                log.LogError("declarative definitions not applied: cannot list {Dir}: {Message}", config.DefinitionsDir, e.Message);
                return changes;
            }
            foreach (string file in declared)
            {
                ApplyDeclaredFile(file, changes);
            }
            var declaredNames = declared.Select(Path.GetFileNameWithoutExtension).ToHashSet(StringComparer.Ordinal);
            foreach (var orphan in List().Where(c => c.State.Declarative && !declaredNames.Contains(c.Name)))
            {
                if (!config.PruneDeclarative)
                {
                    log.LogWarning("{File} is gone; container {Name} stays (set pruneDeclarative: true to destroy such containers)", Paths.DeclarativeFile(orphan.Name), orphan.Name);
                    continue;
                }
                if (jobs.ActiveFor(orphan.Name) is { } busy)
                {
                    Defer(orphan.Name, busy, Paths.DeclarativeFile(orphan.Name));
                    changes.Deferred++;
                    continue;
                }
                log.LogInformation("{File} is gone: destroying container {Name} (pruneDeclarative)", Paths.DeclarativeFile(orphan.Name), orphan.Name);
                try
                {
                    Destroy(orphan.Name);
                    changes.Destroyed++;
                }
                catch (ContainerDException e)
                {
                    log.LogError("destroying container {Name} not begun: {Message}", orphan.Name, e.Message);
                }
            }
            return changes;
        }
    }

    private void ApplyDeclaredFile(string file, DeclarativeChanges changes)
    {
        string name = Path.GetFileNameWithoutExtension(file);
        try
        {
            string yaml = ReadDeclaration(file);
            var container = Find(name);
            if (container is { State.Declarative: false })
            {
                log.LogError("{File} declares '{Name}', but a container of that name was created imperatively; destroy it or rename the file", file, name);
                return;
            }
            if (container is not null && container.State.DefinitionHash == DefinitionHash.Of(yaml))
            {
                changes.Unchanged++;
                return;
            }
            // A job on it (its create, an update, a start): this file's turn comes when the job ends.
            if (jobs.ActiveFor(name) is { } busy)
            {
                Defer(name, busy, file);
                changes.Deferred++;
                return;
            }
            if (container is null)
            {
                log.LogInformation("creating declared container {Name} from {File}", name, file);
                CreateCore(name, yaml, declarative: true, Caller.Root);
                changes.Created++;
            }
            else
            {
                log.LogInformation("{File} changed: updating container {Name}", file, name);
                UpdateCore(container, yaml, Caller.Root, newDefinition: true);
                changes.Updated++;
            }
        }
        catch (ContainerDException e)
        {
            log.LogError("{File} not applied: {Message}", file, e.Message);
            changes.Failed++;
        }
        catch (IOException e)
        {
            log.LogError("{File} not applied: {Message}", file, e.Message);
            changes.Failed++;
        }
    }

    private void Defer(string name, Jobs.Job busy, string file)
    {
        log.LogInformation("{File}: container {Name} is busy with job {Id} ({Operation}); applying it when that job ends", file, name, busy.Id, busy.Operation);
        if (!_watchingJobs)
        {
            _watchingJobs = true;
            jobs.JobRemoved += OnJobRemovedApplyDeferred;
        }
        _deferredDeclarative.Add(name);
    }

    /// <summary>Applies the definition of a container that was busy at the last apply, now that its job ended.</summary>
    private void OnJobRemovedApplyDeferred(Jobs.Job job, Jobs.JobOutcome outcome)
    {
        lock (_declarativeLock)
        {
            if (!_deferredDeclarative.Remove(job.Container))
            {
                return;
            }
        }
        // Not on the job's own thread: the apply may start the next job.
        _ = Task.Run(() =>
        {
            string file = Paths.DeclarativeFile(job.Container);
            if (File.Exists(file))
            {
                lock (_declarativeLock)
                {
                    ApplyDeclaredFile(file, new DeclarativeChanges());
                }
            }
            else
            {
                // Gone meanwhile: the full pass warns or prunes (and defers again if it must).
                ApplyDeclarativeDefinitions();
            }
        });
    }

    /// <summary>A declared file's text; a dangling symlink or an unreadable file is a ContainerDException that says so.</summary>
    private static string ReadDeclaration(string file)
    {
        try
        {
            return File.ReadAllText(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            string why = e is FileNotFoundException or DirectoryNotFoundException && new FileInfo(file).LinkTarget is { } target
                ? $"it is a symlink to {target}, which does not exist"
                : $"cannot read it: {e.Message}";
            throw new ContainerDException(ErrorKind.InvalidDefinition, why);
        }
    }

    /// <summary>Starts every autostart container that is not running, once, at daemon start.</summary>
    public void StartAutostartContainers()
    {
        foreach (var container in List().Where(c => c.Definition.Autostart && c.RunState != ContainerState.Running))
        {
            try
            {
                Start(container.Name);
            }
            catch (ContainerDException e)
            {
                log.LogWarning("autostart of {Name} not begun: {Message}", container.Name, e.Message);
            }
        }
    }
}

/// <summary>What one apply of the declarative definitions began.</summary>
public sealed class DeclarativeChanges
{
    public int Created { get; set; }
    public int Updated { get; set; }
    public int Destroyed { get; set; }
    public int Unchanged { get; set; }
    public int Deferred { get; set; }
    public int Failed { get; set; }

    public override string ToString() =>
        $"{Created} created, {Updated} updated, {Destroyed} destroyed, {Unchanged} unchanged, {Deferred} deferred until their job ends, {Failed} not applied";
}
