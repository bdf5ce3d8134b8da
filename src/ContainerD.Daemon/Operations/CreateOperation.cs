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
/// create: a new container from a definition. Intent: state.json with phase: creating, written
/// first; everything after it is undone by removing all of the name (at once when a step fails,
/// at the next start after a crash). Crash steps: CrashSteps.Create*.
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
        try
        {
            FaultInjection.Before(CrashSteps.CreateWriteState);
            kit.Store.CreateStateDir(name);
            kit.Store.Write(state);
            FaultInjection.Before(CrashSteps.CreateWriteDefinition);
            kit.Store.WriteDefinition(name, yaml);
            FaultInjection.Before(CrashSteps.CreateBuild);
            string system = await kit.Builder.BuildAsync(job, definition, caller).ConfigureAwait(false);
            FaultInjection.Before(CrashSteps.CreateSetProfile);
            // nix-env takes the system while the rootfs and the LXC config are made beside it: neither
            // needs the generation, and whatever a crash leaves meanwhile is phase: creating, all removed.
            var profile = kit.Nix.SetProfileAsync(kit.Paths.ProfileDir(name), system, job.Canceled);
            Container container;
            try
            {
                FaultInjection.Before(CrashSteps.CreateMakeRootfs);
                Rootfs.Create(kit.Paths.Rootfs(name), ids.Start);
                Rootfs.Enclose(kit.Paths.StateDir(name), ids.Start);
                container = new Container(state, definition, yaml);
                FaultInjection.Before(CrashSteps.CreateWriteLxcConfig);
                kit.Runtime.WriteLxcConfig(container);
            }
            finally
            {
                // Never undo (below) while nix-env may still write the profile.
                await profile.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default)
                    .ConfigureAwait(false);
            }
            int generation = await profile.ConfigureAwait(false);
            File.Delete(kit.Paths.BuildLink(name));
            job.Log($"profile {kit.Paths.ProfileDir(name)}/system is generation {generation}: {system}");
            kit.Store.WriteGenerationDefinition(name, generation, yaml);
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
            // The undo: whatever of the name exists goes, and its range is free again.
            await kit.Runtime.RemoveAsync(name, CancellationToken.None).ConfigureAwait(false);
            throw;
        }
    }
}
