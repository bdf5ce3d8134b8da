using ContainerD.Contract;
using ContainerD.Daemon.Bus;
using ContainerD.Daemon.Containers;
using ContainerD.Daemon.Jobs;
using ContainerD.Domain.Definitions;
using ContainerD.Domain.Operations;
using ContainerD.Domain;

namespace ContainerD.Daemon.Operations;

/// <summary>
/// update: rebuilds the system (from a new definition, or the current one) as a new generation and
/// brings it to a running container. Intent: container.yaml.pending beside the definition until
/// The profile's new generation commits it; the profile is the truth after that (ProfileSteps.ReconcileInterrupted).
/// Crash steps: CrashSteps.Update*.
/// </summary>
public sealed class UpdateOperation(OperationKit kit) : IManagerVerb
{
    public const string Name = "update";

    public IReadOnlyList<string> Members { get; } = [Wire.Manager.UpdateContainer];

    public Func<Caller, ValueTask<Job>> Bind(ref CallArguments call)
    {
        string name = call.Name(), yaml = call.Definition();
        return caller => new(Begin(name, yaml, caller));
    }

    /// <param name="yaml">The new definition; empty rebuilds the current one, whose owner does not change.</param>
    public Job Begin(string name, string yaml, Caller caller)
    {
        var container = kit.Registry.Get(name);
        if (yaml.Length > 0)
        {
            kit.RefuseIfDeclared(container, "change that file instead");
        }
        return BeginCore(container, yaml.Length > 0 ? yaml : container.DefinitionYaml, caller, newDefinition: yaml.Length > 0);
    }

    /// <summary>A declaration file that changed.</summary>
    public Job BeginDeclared(Container container, string yaml) => BeginCore(container, yaml, Caller.Root, newDefinition: true);

    private Job BeginCore(Container container, string yaml, Caller caller, bool newDefinition)
    {
        string name = container.Name;
        var definition = kit.Parse(yaml, name, container.State.Declarative);
        kit.Builder.RequireStorePathExists(definition);
        if (newDefinition)
        {
            kit.Confinement.RequireConfined(definition, caller);
        }
        if (definition.IdMap.Size != container.State.UidSize || (definition.IdMap.Base is { } fixedBase && fixedBase != container.State.UidBase))
        {
            throw new ContainerDException(ErrorKind.InvalidDefinition,
                $"idmap of '{name}' cannot change: its ids {container.Ids} are its files' owners for its whole life; destroy and create it to change them");
        }
        kit.Runtime.RequireHostFit(definition, container.Ids);
        return kit.ForExisting(name, Name, (job, c) => StepsAsync(job, c, definition, yaml, caller, newDefinition));
    }

    private async Task StepsAsync(Job job, Container container, ContainerDefinition definition, string yaml, Caller caller, bool newDefinition)
    {
        string name = container.Name;
        if (newDefinition && !caller.IsRoot && !container.State.MemberDefinition)
        {
            // Before anything else: should this update be interrupted, its pending definition must not
            // pass for root's at the next start.
            var confined = container.State with { MemberDefinition = true };
            kit.Store.Write(confined);
            container.SetState(confined);
        }
        // Build first: a failed build must leave the generation, the definition and the container as they were.
        string system = await kit.Builder.BuildAsync(job, definition, caller).ConfigureAwait(false);
        FaultInjection.Before(CrashSteps.UpdateWritePending);
        // The new definition waits beside the old one until the generation is committed: a crash
        // before the new generation discards it at the next start, a crash after it commits it.
        kit.Store.WritePendingDefinition(name, yaml);
        FaultInjection.Before(CrashSteps.UpdateSetProfile);
        int generation;
        try
        {
            generation = await kit.Nix.SetProfileAsync(kit.Paths.ProfileDir(name), system, job.Canceled).ConfigureAwait(false);
        }
        catch
        {
            kit.Store.DiscardPendingDefinition(name);
            throw;
        }
        finally
        {
            File.Delete(kit.Paths.BuildLink(name));
        }
        FaultInjection.Before(CrashSteps.UpdateRecordGeneration);
        kit.Store.WriteGenerationDefinition(name, generation, yaml);
        kit.Store.CommitPendingDefinition(name);
        container.SetDefinition(definition, yaml);
        if (newDefinition && caller.IsRoot)
        {
            container.SetState(container.State with { MemberDefinition = false });
        }
        kit.Profiles.CommitGeneration(container, generation, system, DefinitionHash.Of(yaml));
        job.Log($"generation {generation} of {name} is {system}");
        await kit.Profiles.ActivateAsync(job, container, system).ConfigureAwait(false);
    }
}
