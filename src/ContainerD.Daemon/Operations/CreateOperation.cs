using ContainerD.Contract;
using ContainerD.Daemon.Bus;
using ContainerD.Daemon.Containers;
using ContainerD.Daemon.Jobs;
using ContainerD.Domain.Definitions;
using ContainerD.Domain.IdMapping;
using ContainerD.Domain.Operations;
using ContainerD.Domain;
using ContainerD.Os.Filesystem;
using Microsoft.Extensions.Logging;

namespace ContainerD.Daemon.Operations;

/// <summary>
/// create: a new container from a definition. Intent: the state dir, then state.json with phase:
/// creating (from a prebuilt system the profile's generation is already under way between the two); everything
/// after the dir is undone by removing all of the name (at once when a step fails, at the next start
/// after a crash). Crash steps: CrashSteps.Create*.
/// </summary>
public sealed class CreateOperation(OperationKit kit) : IManagerVerb
{
    public const string Name = "create";

    public IReadOnlyList<string> Members { get; } = [Wire.Manager.CreateContainer];

    public Func<Caller, ValueTask<Job>> Bind(ref CallArguments call)
    {
        string name = call.Name(), yaml = call.Definition();
        return caller => new(Begin(name, yaml, caller));
    }

    public Job Begin(string name, string yaml, Caller caller)
    {
        ContainerName.Require(name);
        if (File.Exists(kit.Paths.DeclarativeFile(name)))
        {
            throw new ContainerDException(ErrorKind.AlreadyExists,
                $"container '{name}' is declared in {kit.Paths.DeclarativeFile(name)}: the daemon creates it from there; pick another name");
        }
        return BeginCore(name, yaml, declarative: false, caller);
    }

    /// <summary>A container for a declaration file; with autostart it is started too, as NixOS starts wanted units.</summary>
    public Job BeginDeclared(string name, string yaml) => BeginCore(name, yaml, declarative: true, Caller.Root);

    /// <summary>Recovery of phase: creating — the create never finished: all of the name goes.</summary>
    public Task RollBackInterruptedAsync(string name, CancellationToken cancellationToken)
    {
        kit.Log.LogWarning("rolling back the interrupted create of container {Name}", name);
        return kit.Runtime.RemoveAsync(name, cancellationToken, forceStop: true);
    }

    private Job BeginCore(string name, string yaml, bool declarative, Caller caller)
    {
        ContainerName.Require(name);
        var definition = kit.Parse(yaml, name, declarative);
        kit.Builder.RequireStorePathExists(definition);
        kit.Confinement.RequireConfined(definition, caller);
        return kit.Registry.Atomically(() =>
        {
            IdRange ids = kit.ClaimName(name, definition.IdMap.Size, definition.IdMap.Base);
            try
            {
                kit.Runtime.RequireHostFit(definition, ids);
            }
            catch
            {
                kit.Registry.Free(name);
                throw;
            }
            return kit.Jobs.Start(name, Name, async job =>
            {
                var container = await StepsAsync(job, definition, yaml, ids, declarative, caller).ConfigureAwait(false);
                if (declarative && definition.Autostart)
                {
                    await kit.Runtime.StartAsync(job, container).ConfigureAwait(false);
                }
            });
        });
    }

    private async Task<Container> StepsAsync(Job job, ContainerDefinition definition, string yaml, IdRange ids, bool declarative, Caller caller)
    {
        string name = definition.Name;
        var state = new PersistedState
        {
            Name = name,
            UidBase = ids.Start,
            UidSize = ids.Count,
            CreatedAt = kit.Clock.GetUtcNow(),
            Phase = Phase.Creating,
            Declarative = declarative,
            MemberDefinition = !caller.IsRoot,
        };
        string profileDir = kit.Paths.ProfileDir(name);
        Task<int>? profile = null;
        try
        {
            // A system that needs no build or fetch goes to the profile at once, before the intent:
            // the intent, the rootfs and the LXC config are written while Nix is asked to hold the
            // path and the generation's links are made. The state dir comes first, so whatever a
            // crash leaves (a profile too) is found under the name: no state.json yet is a create
            // that never finished (Recovery removes all of the name), a later one is phase: creating.
            string? ready = kit.Builder.Ready(definition);
            // Generation 1 when the profile is new: its definition is written beside the profile's links too.
            bool newProfile = !Directory.Exists(profileDir);
            kit.Store.CreateStateDir(name);
            if (ready is not null)
            {
                job.Log($"using the prebuilt system {ready}");
                profile = kit.Nix.SetProfileAsync(profileDir, ready, job.Canceled);
            }
            FaultInjection.Before(CrashSteps.CreateWriteState);
            kit.Store.Write(state);
            FaultInjection.Before(CrashSteps.CreateWriteDefinition);
            kit.Store.WriteDefinition(name, yaml);
            FaultInjection.Before(CrashSteps.CreateBuild);
            string system = ready ?? await kit.Builder.BuildAsync(job, definition, caller).ConfigureAwait(false);
            FaultInjection.Before(CrashSteps.CreateSetProfile);
            // The profile takes the system while the rootfs and the LXC config are made beside it: neither
            // needs the generation, and whatever a crash leaves meanwhile is phase: creating, all removed.
            profile ??= kit.Nix.SetProfileAsync(profileDir, system, job.Canceled);
            FaultInjection.Before(CrashSteps.CreateMakeRootfs);
            Rootfs.Create(kit.Paths.Rootfs(name), ids.Start);
            Rootfs.Enclose(kit.Paths.StateDir(name), ids.Start);
            var container = new Container(state, definition, yaml);
            FaultInjection.Before(CrashSteps.CreateWriteLxcConfig);
            kit.Runtime.WriteLxcConfig(container);
            if (newProfile)
            {
                kit.Store.WriteGenerationDefinition(name, 1, yaml);
            }
            int generation = await profile.ConfigureAwait(false);
            File.Delete(kit.Paths.BuildLink(name));
            job.Log($"profile {profileDir}/system is generation {generation}: {system}");
            if (generation != 1 || !newProfile)
            {
                // A profile left from before: numbered on from its generations, as nix-env numbers.
                if (newProfile)
                {
                    kit.Store.DeleteGenerationDefinition(name, 1);
                }
                kit.Store.WriteGenerationDefinition(name, generation, yaml);
            }
            state = state with { Phase = Phase.Ready, Generation = generation, SystemPath = system, DefinitionHash = DefinitionHash.Of(yaml) };
            container.SetState(state);
            FaultInjection.Before(CrashSteps.CreateMarkReady);
            kit.Store.Write(state);
            job.Log($"created container {name} with uids and gids {ids}");
            kit.Registry.Add(container);
            return container;
        }
        catch
        {
            if (profile is not null)
            {
                // Never undo while the profile's links may still be written.
                await profile.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default)
                    .ConfigureAwait(false);
            }
            // The undo: whatever of the name exists goes, and its range is free again.
            await kit.Runtime.RemoveAsync(name, CancellationToken.None).ConfigureAwait(false);
            throw;
        }
    }
}
