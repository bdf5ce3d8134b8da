using ContainerD.Daemon.Jobs;
using ContainerD.Domain;
using ContainerD.Domain.Definitions;
using ContainerD.Domain.Operations;
using ContainerD.Os.Nix;
using ContainerD.Os.Processes;

namespace ContainerD.Daemon.Containers;

/// <summary>The system profile: update, rollback, generations, and bringing a new system to a running container.</summary>
public sealed partial class ContainerService
{
    /// <summary>Rebuilds the system (from a new definition, or the current one when yaml is empty) as a new generation.</summary>
    public Job Update(string name, string yaml, Caller caller)
    {
        var container = Get(name);
        if (yaml.Length > 0)
        {
            RefuseIfDeclared(container, "change that file instead");
        }
        return UpdateCore(container, yaml.Length > 0 ? yaml : container.DefinitionYaml, caller, newDefinition: yaml.Length > 0);
    }

    /// <param name="newDefinition">False when the current definition is rebuilt: whose it is does not change.</param>
    private Job UpdateCore(Container container, string newYaml, Caller caller, bool newDefinition)
    {
        string name = container.Name;
        var definition = DefinitionParser.Parse(newYaml, DefinitionSource(name, container.State.Declarative), name);
        RequireStorePathExists(definition);
        if (newDefinition)
        {
            RequireConfined(definition, caller);
        }
        if (definition.IdMap.Size != container.State.UidSize || (definition.IdMap.Base is { } fixedBase && fixedBase != container.State.UidBase))
        {
            throw new ContainerDException(ErrorKind.InvalidDefinition,
                $"idmap of '{name}' cannot change: its ids {container.Ids} are its files' owners for its whole life; destroy and create it to change them");
        }
        RequireHostFit(definition, container.Ids);
        return StartJob(name, "update", (job, c) => UpdateStepsAsync(job, c, definition, newYaml, caller, newDefinition));
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
            store.PruneGenerationDefinitions(name, left.Select(g => g.Number).ToHashSet());
            job.Log($"{name} keeps generations {string.Join(", ", left.Select(g => g.Number))}; 'nix-store --gc' reclaims the rest");
        });
    }

    /// <summary>Goes back to a generation (0 = the one before the current) and activates it.</summary>
    public Job Rollback(string name, uint requested)
    {
        var container = Get(name);
        if (requested > Contract.Limits.MaxGeneration)
        {
            throw new ContainerDException(ErrorKind.NoSuchGeneration, $"container '{name}' has no generation {requested}: generations are at most {Contract.Limits.MaxGeneration}");
        }
        int generation = (int)requested;
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

    private async Task<string> BuildSystemAsync(Job job, ContainerDefinition definition, Caller caller)
    {
        switch (definition.System)
        {
            case NixExpressionSystem expression:
                job.Log($"building the system from {expression.File}");
                return await nix.BuildAsync(expression, Paths.BuildLink(definition.Name), job.Log, job.Canceled,
                    NixConfinementFor(caller, definition.Name)).ConfigureAwait(false);
            case FlakeSystem flake:
                job.Log($"building the system from the flake {flake.Reference}");
                return await nix.BuildFlakeAsync(flake, Paths.BuildLink(definition.Name), job.Log, job.Canceled).ConfigureAwait(false);
            case StorePathSystem path:
                job.Log($"using the prebuilt system {path.Path}");
                return await nix.CheckSystemAsync(path.Path, job.Canceled).ConfigureAwait(false);
            default:
                throw new InvalidOperationException($"unknown system source {definition.System}");
        }
    }

    private async Task UpdateStepsAsync(Job job, Container container, ContainerDefinition definition, string yaml, Caller caller, bool newDefinition)
    {
        string name = container.Name;
        if (newDefinition && !caller.IsRoot && !container.State.MemberDefinition)
        {
            // Before anything else: should this update be interrupted, its pending definition must not
            // pass for root's at the next start.
            var confined = container.State with { MemberDefinition = true };
            store.Write(confined);
            container.SetState(confined);
        }
        // Build first: a failed build must leave the generation, the definition and the container as they were.
        string system = await BuildSystemAsync(job, definition, caller).ConfigureAwait(false);
        FaultInjection.Before(CrashSteps.UpdateWritePending);
        // The new definition waits beside the old one until the generation is committed: a crash
        // before nix-env discards it at the next start, a crash after it commits it (ReconcileProfile).
        store.WritePendingDefinition(name, yaml);
        FaultInjection.Before(CrashSteps.UpdateSetProfile);
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
        FaultInjection.Before(CrashSteps.UpdateRecordGeneration);
        store.WriteGenerationDefinition(name, generation, yaml);
        store.CommitPendingDefinition(name);
        container.SetDefinition(definition, yaml);
        if (newDefinition && caller.IsRoot)
        {
            container.SetState(container.State with { MemberDefinition = false });
        }
        CommitGeneration(container, generation, system, DefinitionHash.Of(yaml));
        job.Log($"generation {generation} of {name} is {system}");
        await ActivateAsync(job, container, system).ConfigureAwait(false);
    }

    private async Task RollbackStepsAsync(Job job, Container container, int generation)
    {
        FaultInjection.Before(CrashSteps.RollbackSwitchGeneration);
        await nix.SwitchGenerationAsync(Paths.ProfileDir(container.Name), generation, job.Canceled).ConfigureAwait(false);
        FaultInjection.Before(CrashSteps.RollbackRecordGeneration);
        string system = NixTool.CurrentSystem(Paths.ProfileDir(container.Name))
            ?? throw new ContainerDException(ErrorKind.NoSuchGeneration, $"generation {generation} of '{container.Name}' points nowhere");
        // The definition follows the generation: a later update without a new definition rebuilds
        // this one, not the newer system rolled back from.
        string? definitionHash = container.State.DefinitionHash;
        if (store.ReadGenerationDefinition(container.Name, generation) is { } yaml)
        {
            var definition = DefinitionParser.Parse(yaml, DefinitionSource(container.Name, container.State.Declarative), container.Name);
            store.WriteDefinition(container.Name, yaml);
            container.SetDefinition(definition, yaml);
            definitionHash = DefinitionHash.Of(yaml);
        }
        else
        {
            job.Log($"generation {generation} of {container.Name} predates kept definitions: the definition stays as it was");
        }
        CommitGeneration(container, generation, system, definitionHash);
        job.Log($"rolled {container.Name} back to generation {generation}: {system}");
        await ActivateAsync(job, container, system).ConfigureAwait(false);
    }

    /// <summary>
    /// Records the profile's current generation in state.json and tells watchers; its activation
    /// is pending (persisted) until ActivateAsync is through with it.
    /// </summary>
    private void CommitGeneration(Container container, int generation, string system, string? definitionHash)
    {
        var state = container.State with { Generation = generation, SystemPath = system, DefinitionHash = definitionHash, ActivationPending = true };
        store.Write(state);
        container.SetState(state);
        WriteLxcConfig(container);
        registry.NotifyChanged(container);
    }

    private const int ActivationLogLines = 500;
    private static readonly CommandLimits ActivationLimits = new(1 << 20, 1 << 20, 4096);

    private void ClearActivationPending(Container container)
    {
        if (!container.State.ActivationPending)
        {
            return;
        }
        var state = container.State with { ActivationPending = false };
        store.Write(state);
        container.SetState(state);
    }

    /// <summary>Brings a new system to a running container, as its definition's activation says; then it is no longer pending.</summary>
    private async Task ActivateAsync(Job job, Container container, string system)
    {
        try
        {
            await ActivateCoreAsync(job, container, system).ConfigureAwait(false);
        }
        finally
        {
            ClearActivationPending(container);
        }
    }

    private async Task ActivateCoreAsync(Job job, Container container, string system)
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
                // Bounded whatever the new system prints: the head of stdout, the tail of stderr.
                registry.GetRunning(container.Name);
                var output = await lxc.AttachAsync(container.Name, ["/nix/var/nix/profiles/system/bin/switch-to-configuration", "switch"],
                    SessionService.InsideEnvironment("dumb", new Dictionary<string, string>()), ActivationLimits, job.Canceled).ConfigureAwait(false);
                var lines = (output.StdoutText + (output.StdoutCut ? "\n[stdout cut]\n" : "") + output.Stderr)
                    .Split('\n', StringSplitOptions.RemoveEmptyEntries);
                if (lines.Length > ActivationLogLines)
                {
                    job.Log($"[switch-to-configuration printed {lines.Length} lines; the last {ActivationLogLines} follow]");
                }
                foreach (string line in lines.TakeLast(ActivationLogLines))
                {
                    job.Log(line);
                }
                if (!output.Succeeded)
                {
                    throw new ContainerDException(ErrorKind.ActivationFailed,
                        $"switch-to-configuration failed in '{container.Name}' (exit {output.ExitCode}); it keeps running: {output.StderrTail(5)}");
                }
                break;
        }
    }
}
