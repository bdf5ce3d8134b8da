using ContainerD.Contract;
using ContainerD.Daemon.Bus;
using ContainerD.Daemon.Containers;
using ContainerD.Daemon.Jobs;
using ContainerD.Domain.Definitions;
using ContainerD.Domain.Operations;
using ContainerD.Domain;
using ContainerD.Os.Nix;

namespace ContainerD.Daemon.Operations;

/// <summary>
/// rollback: back to a generation (0 = the one before the current), and activated. The definition
/// follows the generation. Intent: the profile itself (ProfileSteps.ReconcileInterrupted). Crash steps: CrashSteps.Rollback*.
/// </summary>
public sealed class RollbackOperation(OperationKit kit) : IManagerVerb
{
    public const string Name = "rollback";

    public IReadOnlyList<string> Members { get; } = [Wire.Manager.RollbackContainer];

    public Func<Caller, ValueTask<Job>> Bind(ref CallArguments call)
    {
        string name = call.Name();
        uint generation = call.UInt32();
        return _ => new(Begin(name, generation));
    }

    public Job Begin(string name, uint requested)
    {
        var container = kit.Registry.Get(name);
        if (requested > Contract.Limits.MaxGeneration)
        {
            throw new ContainerDException(ErrorKind.NoSuchGeneration, $"container '{name}' has no generation {requested}: generations are at most {Contract.Limits.MaxGeneration}");
        }
        int generation = (int)requested;
        var generations = NixTool.ListGenerations(kit.Paths.ProfileDir(name));
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
        return kit.ForExisting(name, Name, (job, c) => StepsAsync(job, c, target));
    }

    private async Task StepsAsync(Job job, Container container, int generation)
    {
        FaultInjection.Before(CrashSteps.RollbackSwitchGeneration);
        await kit.Nix.SwitchGenerationAsync(kit.Paths.ProfileDir(container.Name), generation, job.Canceled).ConfigureAwait(false);
        FaultInjection.Before(CrashSteps.RollbackRecordGeneration);
        string system = NixTool.CurrentSystem(kit.Paths.ProfileDir(container.Name))
            ?? throw new ContainerDException(ErrorKind.NoSuchGeneration, $"generation {generation} of '{container.Name}' points nowhere");
        // The definition follows the generation: a later update without a new definition rebuilds
        // this one, not the newer system rolled back from.
        string? definitionHash = container.State.DefinitionHash;
        if (kit.Store.ReadGenerationDefinition(container.Name, generation) is { } yaml)
        {
            var definition = kit.Parse(yaml, container.Name, container.State.Declarative);
            kit.Store.WriteDefinition(container.Name, yaml);
            container.SetDefinition(definition, yaml);
            definitionHash = DefinitionHash.Of(yaml);
        }
        else
        {
            job.Log($"generation {generation} of {container.Name} predates kept definitions: the definition stays as it was");
        }
        kit.Profiles.CommitGeneration(container, generation, system, definitionHash);
        job.Log($"rolled {container.Name} back to generation {generation}: {system}");
        await kit.Profiles.ActivateAsync(job, container, system).ConfigureAwait(false);
    }
}
