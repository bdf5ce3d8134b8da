using ContainerD.Daemon.Jobs;
using ContainerD.Domain;
using ContainerD.Domain.Configuration;
using ContainerD.Domain.Definitions;
using ContainerD.Domain.IdMapping;
using ContainerD.Domain.Lxc;
using ContainerD.Os;
using ContainerD.Os.Filesystem;
using ContainerD.Os.Lxc;
using ContainerD.Os.Nix;
using ContainerD.Os.Processes;
using Microsoft.Extensions.Logging;

namespace ContainerD.Daemon.Containers;

/// <summary>
/// The containers and every change to them. Each change is a job; each multi-step change
/// persists its intent first (Phase) so that a crash at any step is finished or rolled back
/// by the next start, with no range, state dir, LXC config or profile left behind.
/// </summary>
public sealed class ContainerService(
    DaemonConfig config,
    StateStore store,
    LxcTool lxc,
    NixTool nix,
    SubIdStore subIds,
    HostFeatures host,
    JobManager jobs,
    TimeProvider clock,
    ILogger<ContainerService> log)
{
    private const string RootOwner = "root";
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Container> _containers = new(StringComparer.Ordinal);
    private IdAllocator _allocator = new(config.IdPool, []);
    /// <summary>What the host can do; loses IdmappedMounts if the kernel or filesystem turns out unable.</summary>
    private HostFeatures _host = host;

    private ContainerPaths Paths => store.Paths;

    public event Action<Container>? Added;
    public event Action<Container>? Changed;
    public event Action<Container>? Removed;

    // ---- Reads ----

    public IReadOnlyList<Container> List()
    {
        lock (_lock)
        {
            return _containers.Values.OrderBy(c => c.Name, StringComparer.Ordinal).ToList();
        }
    }

    public Container Get(string name)
    {
        lock (_lock)
        {
            return _containers.TryGetValue(name, out var container)
                ? container
                : throw new ContainerDException(ErrorKind.NoSuchContainer, $"there is no container '{name}'; 'containerctl list' shows the containers there are");
        }
    }

    public IReadOnlyList<ProfileGeneration> Generations(string name) => NixTool.ListGenerations(Paths.ProfileDir(Get(name).Name));

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
        Directory.CreateDirectory(lxc.LxcPath);
        File.SetUnixFileMode(lxc.LxcPath, StateStore.DirMode);
        _allocator = new IdAllocator(config.IdPool, subIds.ReadForeign(RootOwner));

        foreach (string name in store.Names())
        {
            await RecoverAsync(name, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task RecoverAsync(string name, CancellationToken cancellationToken)
    {
        PersistedState? state = store.Read(name);
        switch (state?.Phase)
        {
            case null:
                log.LogWarning("removing {Dir}: a create was interrupted before it wrote its state", Paths.StateDir(name));
                store.DeleteStateDir(name);
                return;
            case Phase.Creating:
                log.LogWarning("rolling back the interrupted create of container {Name}", name);
                await RemoveEverythingAsync(name, cancellationToken).ConfigureAwait(false);
                return;
            case Phase.Destroying:
                log.LogWarning("finishing the interrupted destroy of container {Name}", name);
                await RemoveEverythingAsync(name, cancellationToken).ConfigureAwait(false);
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
        lock (_lock)
        {
            _allocator.Reserve(name, container.Ids);
            _containers[name] = container;
        }
        if (!File.Exists(lxc.ConfigPath(name)))
        {
            WriteLxcConfig(container);
        }
        await RefreshAsync(container, cancellationToken).ConfigureAwait(false);
        log.LogInformation("loaded container {Name}: {State}, pid {Pid}, ids {Ids}, generation {Generation}",
            name, container.RunState, container.LeaderPid, container.Ids, state.Generation);
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
        state = state with
        {
            Generation = generation,
            SystemPath = NixTool.CurrentSystem(Paths.ProfileDir(name)),
            DefinitionHash = yaml is null ? state.DefinitionHash : DefinitionHash.Of(yaml),
        };
        store.Write(state);
        return state;
    }

    /// <summary>
    /// Brings containers in line with DefinitionsDir at daemon start: a new file is created, a changed
    /// one (by hash) applied as an update, a vanished one destroyed only when pruneDeclarative is on.
    /// </summary>
    public void ApplyDeclarativeDefinitions()
    {
        var declared = Directory.Exists(config.DefinitionsDir)
            ? Directory.EnumerateFiles(config.DefinitionsDir, "*.yaml").Order(StringComparer.Ordinal).ToList()
            : [];
        foreach (string file in declared)
        {
            string name = Path.GetFileNameWithoutExtension(file);
            try
            {
                string yaml = File.ReadAllText(file);
                switch (Find(name))
                {
                    case null:
                        log.LogInformation("creating declared container {Name} from {File}", name, file);
                        CreateCore(name, yaml, declarative: true);
                        break;
                    case { State.Declarative: false }:
                        log.LogError("{File} declares '{Name}', but a container of that name was created imperatively; destroy it or rename the file", file, name);
                        break;
                    case var container when container.State.DefinitionHash != DefinitionHash.Of(yaml):
                        log.LogInformation("{File} changed: updating container {Name}", file, name);
                        UpdateCore(container, yaml);
                        break;
                }
            }
            catch (ContainerDException e)
            {
                log.LogError("{File} not applied: {Message}", file, e.Message);
            }
        }
        var declaredNames = declared.Select(Path.GetFileNameWithoutExtension).ToHashSet(StringComparer.Ordinal);
        foreach (var orphan in List().Where(c => c.State.Declarative && !declaredNames.Contains(c.Name)))
        {
            if (config.PruneDeclarative)
            {
                log.LogInformation("{File} is gone: destroying container {Name} (pruneDeclarative)", Paths.DeclarativeFile(orphan.Name), orphan.Name);
                Destroy(orphan.Name);
            }
            else
            {
                log.LogWarning("{File} is gone; container {Name} stays (set pruneDeclarative: true to destroy such containers)", Paths.DeclarativeFile(orphan.Name), orphan.Name);
            }
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

    /// <summary>Asks LXC what the container is doing now; raises Changed when that differs.</summary>
    public async Task RefreshAsync(Container container, CancellationToken cancellationToken = default)
    {
        var status = await lxc.GetStatusAsync(container.Name, cancellationToken).ConfigureAwait(false);
        if (container.SetRuntime(status.State, status.Pid))
        {
            Changed?.Invoke(container);
        }
    }

    // ---- Changes (each returns its job at once) ----

    public Job Create(string name, string yaml)
    {
        ContainerName.Require(name);
        if (File.Exists(Paths.DeclarativeFile(name)))
        {
            throw new ContainerDException(ErrorKind.AlreadyExists,
                $"container '{name}' is declared in {Paths.DeclarativeFile(name)}: the daemon creates it from there; pick another name");
        }
        return CreateCore(name, yaml, declarative: false);
    }

    private Job CreateCore(string name, string yaml, bool declarative)
    {
        ContainerName.Require(name);
        var definition = DefinitionParser.Parse(yaml, DefinitionSource(name, declarative), name);
        RequireStorePathExists(definition);
        lock (_lock)
        {
            if (_containers.ContainsKey(name))
            {
                throw new ContainerDException(ErrorKind.AlreadyExists, $"container '{name}' already exists; destroy it first or pick another name");
            }
            if (jobs.ActiveFor(name) is { } running)
            {
                throw new ContainerDException(ErrorKind.AlreadyExists, $"container '{name}' is being created by job {running.Id}");
            }
            IdRange ids = _allocator.Allocate(name, definition.IdMap.Size, definition.IdMap.Base);
            return jobs.Start(name, "create", async job =>
            {
                await CreateStepsAsync(job, definition, yaml, ids, declarative).ConfigureAwait(false);
                // A declared container with autostart is wanted running, like NixOS units.
                if (declarative && definition.Autostart)
                {
                    await StartStepsAsync(job, Get(name)).ConfigureAwait(false);
                }
            });
        }
    }

    public Job Start(string name) => StartJob(name, "start", (job, container) => StartStepsAsync(job, container));

    public Job Stop(string name, bool force) => StartJob(name, "stop", (job, container) => StopStepsAsync(job, container, force));

    public Job Restart(string name) => StartJob(name, "restart", async (job, container) =>
    {
        await StopStepsAsync(job, container, force: false).ConfigureAwait(false);
        await StartStepsAsync(job, container).ConfigureAwait(false);
    });

    public Job Destroy(string name) => StartJob(name, "destroy", DestroyStepsAsync);

    /// <summary>Rebuilds the system (from a new definition, or the current one when yaml is empty) as a new generation.</summary>
    public Job Update(string name, string yaml)
    {
        var container = Get(name);
        if (yaml.Length > 0 && container.State.Declarative)
        {
            throw new ContainerDException(ErrorKind.InvalidDefinition,
                $"container '{name}' is declared in {Paths.DeclarativeFile(name)}; change that file instead");
        }
        return UpdateCore(container, yaml.Length > 0 ? yaml : container.DefinitionYaml);
    }

    private Job UpdateCore(Container container, string newYaml)
    {
        string name = container.Name;
        var definition = DefinitionParser.Parse(newYaml, DefinitionSource(name, container.State.Declarative), name);
        RequireStorePathExists(definition);
        if (definition.IdMap.Size != container.State.UidSize || (definition.IdMap.Base is { } fixedBase && fixedBase != container.State.UidBase))
        {
            throw new ContainerDException(ErrorKind.InvalidDefinition,
                $"idmap of '{name}' cannot change: its ids {container.Ids} are its files' owners for its whole life; destroy and create it to change them");
        }
        return StartJob(name, "update", (job, c) => UpdateStepsAsync(job, c, definition, newYaml));
    }

    /// <summary>Deletes old generations ("old", "Nd" or "+N", as nix-env reads them); the current one always stays.</summary>
    public Job DeleteGenerations(string name, string which)
    {
        if (!System.Text.RegularExpressions.Regex.IsMatch(which, @"^(old|[0-9]{1,6}d|\+[0-9]{1,6})$"))
        {
            throw new ContainerDException(ErrorKind.InvalidDefinition,
                $"'{which}' is not a generation selector: use old (all but the current), 30d (older than 30 days) or +5 (keep the newest 5)");
        }
        return StartJob(name, "delete-generations", async (job, container) =>
        {
            await nix.DeleteGenerationsAsync(Paths.ProfileDir(name), which, job.Canceled).ConfigureAwait(false);
            var left = NixTool.ListGenerations(Paths.ProfileDir(name));
            job.Log($"{name} keeps generations {string.Join(", ", left.Select(g => g.Number))}; 'nix-store --gc' reclaims the rest");
        });
    }

    /// <summary>Goes back to a generation (0 = the one before the current) and activates it.</summary>
    public Job Rollback(string name, int generation)
    {
        var container = Get(name);
        var generations = NixTool.ListGenerations(Paths.ProfileDir(name));
        int current = container.State.Generation;
        int target = generation != 0 ? generation
            : generations.Where(g => g.Number < current).Select(g => g.Number).DefaultIfEmpty(0).Max();
        if (target == 0)
        {
            throw new ContainerDException(ErrorKind.NoSuchGeneration, $"container '{name}' has no generation before {current} to roll back to");
        }
        if (generations.All(g => g.Number != target))
        {
            throw new ContainerDException(ErrorKind.NoSuchGeneration,
                $"container '{name}' has no generation {target}; it has {string.Join(", ", generations.Select(g => g.Number))}");
        }
        return StartJob(name, "rollback", (job, c) => RollbackStepsAsync(job, c, target));
    }

    /// <summary>Runs argv inside a running container (lxc-attach; never a shell string).</summary>
    public Task<CommandOutput> RunCommandAsync(string name, IReadOnlyList<string> argv, IReadOnlyDictionary<string, string> environment)
    {
        var container = Get(name);
        if (container.RunState != ContainerState.Running)
        {
            throw new ContainerDException(ErrorKind.NotRunning, $"container '{name}' is {container.RunState.ToWire()}; start it with 'containerctl start {name}'");
        }
        if (argv.Count == 0)
        {
            throw new ContainerDException(ErrorKind.Failed, "no command given: argv is empty");
        }
        var env = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["PATH"] = "/nix/var/nix/profiles/system/sw/bin:/run/current-system/sw/bin:/usr/bin:/bin",
            ["HOME"] = "/root",
            ["TERM"] = "dumb",
        };
        foreach (var (key, value) in environment)
        {
            env[key] = value;
        }
        return lxc.AttachAsync(name, argv, env);
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

    private Job StartJob(string name, string operation, Func<Job, Container, Task> steps)
    {
        lock (_lock)
        {
            var container = Get(name);
            return jobs.Start(name, operation, job => steps(job, container));
        }
    }

    // ---- The steps ----

    private async Task CreateStepsAsync(Job job, ContainerDefinition definition, string yaml, IdRange ids, bool declarative)
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
        };
        try
        {
            FaultInjection.Step("create", 1);
            store.CreateStateDir(name);
            store.Write(state);
            FaultInjection.Step("create", 2);
            store.WriteDefinition(name, yaml);
            FaultInjection.Step("create", 3);
            string system = await BuildSystemAsync(job, definition).ConfigureAwait(false);
            FaultInjection.Step("create", 4);
            int generation = await nix.SetProfileAsync(Paths.ProfileDir(name), system, job.Canceled).ConfigureAwait(false);
            File.Delete(Paths.BuildLink(name));
            job.Log($"profile {Paths.ProfileDir(name)}/system is generation {generation}: {system}");
            FaultInjection.Step("create", 5);
            Rootfs.Create(Paths.Rootfs(name), ids.Start);
            state = state with { Phase = Phase.Ready, Generation = generation, SystemPath = system, DefinitionHash = DefinitionHash.Of(yaml) };
            var container = new Container(state, definition, yaml);
            FaultInjection.Step("create", 6);
            WriteLxcConfig(container);
            FaultInjection.Step("create", 7);
            store.Write(state);
            lock (_lock)
            {
                _containers[name] = container;
            }
            job.Log($"created container {name} with uids and gids {ids}");
            Added?.Invoke(container);
        }
        catch
        {
            await RemoveEverythingAsync(name, CancellationToken.None).ConfigureAwait(false);
            throw;
        }
    }

    private async Task<string> BuildSystemAsync(Job job, ContainerDefinition definition)
    {
        switch (definition.System)
        {
            case NixExpressionSystem expression:
                job.Log($"building the system from {expression.File}");
                return await nix.BuildAsync(expression, Paths.BuildLink(definition.Name), job.Log, job.Canceled).ConfigureAwait(false);
            case StorePathSystem path:
                job.Log($"using the prebuilt system {path.Path}");
                return await nix.CheckSystemAsync(path.Path, job.Canceled).ConfigureAwait(false);
            default:
                throw new InvalidOperationException($"unknown system source {definition.System}");
        }
    }

    private async Task UpdateStepsAsync(Job job, Container container, ContainerDefinition definition, string yaml)
    {
        string name = container.Name;
        // Build first: a failed build must leave the generation, the definition and the container as they were.
        string system = await BuildSystemAsync(job, definition).ConfigureAwait(false);
        FaultInjection.Step("update", 1);
        // The new definition waits beside the old one until the generation is committed: a crash
        // before nix-env discards it at the next start, a crash after it commits it (ReconcileProfile).
        store.WritePendingDefinition(name, yaml);
        FaultInjection.Step("update", 2);
        int generation;
        try
        {
            generation = await nix.SetProfileAsync(Paths.ProfileDir(name), system, job.Canceled).ConfigureAwait(false);
        }
        catch
        {
            store.DiscardPendingDefinition(name);
            throw;
        }
        finally
        {
            File.Delete(Paths.BuildLink(name));
        }
        FaultInjection.Step("update", 3);
        store.CommitPendingDefinition(name);
        container.SetDefinition(definition, yaml);
        CommitGeneration(container, generation, system, DefinitionHash.Of(yaml));
        job.Log($"generation {generation} of {name} is {system}");
        await ActivateAsync(job, container, system).ConfigureAwait(false);
    }

    private async Task RollbackStepsAsync(Job job, Container container, int generation)
    {
        FaultInjection.Step("rollback", 1);
        await nix.SwitchGenerationAsync(Paths.ProfileDir(container.Name), generation, job.Canceled).ConfigureAwait(false);
        FaultInjection.Step("rollback", 2);
        string system = NixTool.CurrentSystem(Paths.ProfileDir(container.Name))
            ?? throw new ContainerDException(ErrorKind.NoSuchGeneration, $"generation {generation} of '{container.Name}' points nowhere");
        CommitGeneration(container, generation, system, container.State.DefinitionHash);
        job.Log($"rolled {container.Name} back to generation {generation}: {system}");
        await ActivateAsync(job, container, system).ConfigureAwait(false);
    }

    /// <summary>Records the profile's current generation in state.json and tells watchers.</summary>
    private void CommitGeneration(Container container, int generation, string system, string? definitionHash)
    {
        var state = container.State with { Generation = generation, SystemPath = system, DefinitionHash = definitionHash };
        store.Write(state);
        container.SetState(state);
        WriteLxcConfig(container);
        Changed?.Invoke(container);
    }

    /// <summary>Brings a new system to a running container, as its definition's activation says.</summary>
    private async Task ActivateAsync(Job job, Container container, string system)
    {
        await RefreshAsync(container).ConfigureAwait(false);
        if (container.RunState != ContainerState.Running)
        {
            job.Log($"{container.Name} is not running: it boots generation {container.State.Generation} at its next start");
            return;
        }
        string switchScript = Path.Combine(system, "bin", "switch-to-configuration");
        var activation = container.Definition.Activation switch
        {
            Activation.Auto => File.Exists(switchScript) ? Activation.Switch : Activation.Restart,
            var chosen => chosen,
        };
        switch (activation)
        {
            case Activation.None:
                job.Log($"activation: none; {container.Name} boots the new system at its next start");
                break;
            case Activation.Restart:
                job.Log($"activation: restarting {container.Name}");
                await StopStepsAsync(job, container, force: false).ConfigureAwait(false);
                await StartStepsAsync(job, container).ConfigureAwait(false);
                break;
            case Activation.Switch:
                job.Log($"activation: switch-to-configuration switch inside {container.Name}");
                var output = await RunCommandAsync(container.Name,
                    ["/nix/var/nix/profiles/system/bin/switch-to-configuration", "switch"], new Dictionary<string, string>()).ConfigureAwait(false);
                foreach (string line in (output.StdoutText + output.Stderr).Split('\n', StringSplitOptions.RemoveEmptyEntries))
                {
                    job.Log(line);
                }
                if (!output.Succeeded)
                {
                    throw new ContainerDException(ErrorKind.Failed,
                        $"switch-to-configuration failed in '{container.Name}' (exit {output.ExitCode}); it keeps running: {output.StderrTail(5)}");
                }
                break;
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
        SetRunState(container, ContainerState.Starting);
        // Rendered afresh on each start, so a changed host (or daemon) never boots a stale config.
        WriteLxcConfig(container);
        try
        {
            await lxc.StartAsync(container.Name, job.Canceled).ConfigureAwait(false);
        }
        catch (ContainerDException e) when (e.Kind == ErrorKind.StartFailed && _host.IdmappedMounts
            && (e.Message.Contains("idmap", StringComparison.OrdinalIgnoreCase) || e.Message.Contains("mount_setattr", StringComparison.Ordinal)))
        {
            // Warned once: from now on every container gets the plain read-only bind.
            log.LogWarning("idmapped mounts fail on this host ({Message}); falling back to a plain read-only bind of the store, owned by nobody inside", e.Message);
            _host = _host with { IdmappedMounts = false };
            WriteLxcConfig(container);
            await lxc.StartAsync(container.Name, job.Canceled).ConfigureAwait(false);
        }
        finally
        {
            await RefreshAsync(container).ConfigureAwait(false);
        }
        if (container.RunState != ContainerState.Running)
        {
            throw new ContainerDException(ErrorKind.StartFailed,
                $"container '{container.Name}' is {container.RunState.ToWire()} after lxc-start; see {lxc.LogPath(container.Name)} and {lxc.ConsoleLogPath(container.Name)}");
        }
        job.Log($"container {container.Name} is running, init pid {container.LeaderPid}");
    }

    private async Task StopStepsAsync(Job job, Container container, bool force)
    {
        await RefreshAsync(container).ConfigureAwait(false);
        if (container.RunState == ContainerState.Stopped)
        {
            job.Log($"container {container.Name} is not running");
            return;
        }
        SetRunState(container, ContainerState.Stopping);
        try
        {
            await lxc.StopAsync(container.Name, container.Definition.StopTimeout, force, job.Canceled).ConfigureAwait(false);
        }
        finally
        {
            await RefreshAsync(container).ConfigureAwait(false);
        }
        job.Log($"container {container.Name} is {container.RunState.ToWire()}");
    }

    private async Task DestroyStepsAsync(Job job, Container container)
    {
        string name = container.Name;
        FaultInjection.Step("destroy", 1);
        store.Write(container.State with { Phase = Phase.Destroying });
        container.SetState(container.State with { Phase = Phase.Destroying });
        FaultInjection.Step("destroy", 2);
        await RemoveEverythingAsync(name, CancellationToken.None, job).ConfigureAwait(false);
        lock (_lock)
        {
            _containers.Remove(name);
        }
        job.Log($"destroyed container {name}; ids {container.Ids} are free again");
        Removed?.Invoke(container);
    }

    /// <summary>
    /// Stops the container if LXC runs it, then removes its LXC dir, its profile and last its state
    /// dir, and frees its range. Safe to repeat: used by destroy, failed creates and recovery.
    /// </summary>
    private async Task RemoveEverythingAsync(string name, CancellationToken cancellationToken, Job? job = null)
    {
        if ((await lxc.GetStatusAsync(name, cancellationToken).ConfigureAwait(false)).State != ContainerState.Stopped)
        {
            job?.Log($"stopping container {name}");
            var timeout = Find(name)?.Definition.StopTimeout ?? TimeSpan.FromSeconds(10);
            await lxc.StopAsync(name, timeout, force: false, cancellationToken).ConfigureAwait(false);
            if (Find(name) is { } running)
            {
                await RefreshAsync(running, cancellationToken).ConfigureAwait(false);
            }
        }
        FaultInjection.Step("destroy", 3);
        DeleteDirectory(lxc.ContainerDir(name));
        FaultInjection.Step("destroy", 4);
        DeleteDirectory(Paths.ProfileDir(name));
        FaultInjection.Step("destroy", 5);
        store.DeleteStateDir(name);
        lock (_lock)
        {
            _allocator.Free(name);
        }
    }

    /// <summary>The container of that name, or null.</summary>
    public Container? Find(string name)
    {
        lock (_lock)
        {
            return _containers.GetValueOrDefault(name);
        }
    }

    private void WriteLxcConfig(Container container)
    {
        var spec = new LxcContainerSpec(container.Definition, container.Ids, Paths.Rootfs(container.Name),
            Paths.ProfileDir(container.Name), lxc.ConsoleLogPath(container.Name));
        string text = LxcConfigRenderer.Render(spec, _host);
        Directory.CreateDirectory(lxc.ContainerDir(container.Name));
        File.SetUnixFileMode(lxc.ContainerDir(container.Name), StateStore.DirMode);
        AtomicFile.Write(lxc.ConfigPath(container.Name), text, StateStore.FileMode);
    }

    private void SetRunState(Container container, ContainerState state)
    {
        if (container.SetRuntime(state, container.LeaderPid))
        {
            Changed?.Invoke(container);
        }
    }

    private string DefinitionSource(string name, bool declarative) =>
        declarative ? Paths.DeclarativeFile(name) : $"definition of '{name}'";

    private static void DeleteDirectory(string path)
    {
        if (Directory.Exists(path))
        {
            Directory.Delete(path, recursive: true);
        }
    }
}
