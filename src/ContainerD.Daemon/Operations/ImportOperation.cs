using System.Globalization;
using System.Text;
using ContainerD.Contract;
using ContainerD.Daemon.Bus;
using ContainerD.Daemon.Containers;
using ContainerD.Daemon.Jobs;
using ContainerD.Domain.Archive;
using ContainerD.Domain.Definitions;
using ContainerD.Domain.IdMapping;
using ContainerD.Domain.Operations;
using ContainerD.Domain;
using ContainerD.Os.Filesystem;
using ContainerD.Os.Nix;
using ContainerD.Os;
using Microsoft.Win32.SafeHandles;

namespace ContainerD.Daemon.Operations;

/// <summary>
/// import: a container from an archive (docs/EXPORT.md) read from a file descriptor the caller
/// opened, with a fresh uid range: its root unpacked as the new container's root (owners shifted
/// into the new range), its closure imported (root only: nix-store --import trusts what it is
/// given), its generations set anew in its profile. Every part is checked against its hash, and
/// the closure and the end of the archive before anything enters the store. Intent: as create's,
/// state.json with phase: creating first; a failure or a crash removes all of the name. Crash
/// steps: CrashSteps.Import*.
/// </summary>
public sealed class ImportOperation(OperationKit kit) : IManagerVerb
{
    public const string Name = "import";

    public IReadOnlyList<string> Members { get; } = [Wire.Manager.ImportContainer];

    public Func<Caller, ValueTask<Job>> Bind(ref CallArguments call)
    {
        // Its container is named by the archive: the call waits for the manifest (at most 30 s).
        var archive = call.Handle();
        string name = call.NameOrEmpty();
        return caller => new(BeginAsync(archive, name, caller));
    }
    private static readonly TimeSpan ManifestTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Reads the manifest (the call waits for it, at most 30 s), then starts the job; name empty keeps the archive's.</summary>
    public async Task<Job> BeginAsync(SafeFileHandle archive, string name, Caller caller)
    {
        var input = new FileStream(archive, FileAccess.Read, ExportArchive.ChunkBytes);
        try
        {
            var reader = new ArchiveReader(input);
            ExportManifest manifest;
            using (var timeout = new CancellationTokenSource(ManifestTimeout))
            {
                try
                {
                    var (kind, _) = await reader.NextAsync(timeout.Token).ConfigureAwait(false);
                    if (kind != SectionKind.Manifest)
                    {
                        throw new ContainerDException(ErrorKind.InvalidArgs, "the archive is refused: it does not begin with its manifest; nothing was imported");
                    }
                    manifest = ExportManifest.Parse(await reader.ReadAllAsync("the manifest", ExportManifest.MaxBytes, timeout.Token).ConfigureAwait(false));
                }
                catch (OperationCanceledException) when (timeout.IsCancellationRequested)
                {
                    throw new ContainerDException(ErrorKind.InvalidArgs,
                        $"the archive is refused: its manifest did not arrive within {ManifestTimeout.TotalSeconds:0} s; nothing was imported");
                }
            }
            name = name.Length > 0 ? ContainerName.Require(name) : manifest.Name;
            if (File.Exists(kit.Paths.DeclarativeFile(name)))
            {
                throw new ContainerDException(ErrorKind.AlreadyExists,
                    $"container '{name}' is declared in {kit.Paths.DeclarativeFile(name)}; import it under another name with --name");
            }
            return kit.Registry.Atomically(() =>
            {
                IdRange ids = kit.ClaimName(name, manifest.UidCount, null);
                return kit.Jobs.Start(name, Name, async job =>
                {
                    await using (input)
                    {
                        await StepsAsync(job, reader, manifest, name, ids, caller).ConfigureAwait(false);
                    }
                });
            });
        }
        catch
        {
            await input.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task StepsAsync(Job job, ArchiveReader reader, ExportManifest manifest, string name, IdRange ids, Caller caller)
    {
        var state = new PersistedState
        {
            Name = name,
            UidBase = ids.Start,
            UidSize = ids.Count,
            CreatedAt = kit.Clock.GetUtcNow(),
            Phase = Phase.Creating,
            MemberDefinition = !caller.IsRoot,
        };
        var ct = job.Canceled;
        try
        {
            FaultInjection.Before(CrashSteps.ImportWriteState);
            kit.Store.CreateStateDir(name);
            kit.Store.Write(state);

            var definitions = new Dictionary<int, string>();
            foreach (var g in manifest.Generations)
            {
                await ExpectAsync(reader, SectionKind.Definition, g.Number.ToString(CultureInfo.InvariantCulture), ct).ConfigureAwait(false);
                string yaml = Encoding.UTF8.GetString(await reader.ReadAllAsync($"the definition of generation {g.Number}", Contract.BusText.MaxDefinitionBytes, ct).ConfigureAwait(false));
                definitions[g.Number] = name == manifest.Name ? yaml : DefinitionRename.WithName(yaml, name);
            }
            string currentYaml = definitions[manifest.CurrentGeneration];
            var definition = kit.Parse(currentYaml, name, declarative: false);
            kit.Confinement.RequireConfined(definition, caller);
            // Every other generation is one rollback away from being the definition: a member's import
            // holds each to what the member may ask (root may ask anything).
            if (!caller.IsRoot)
            {
                foreach (var (number, yaml) in definitions.Where(d => d.Key != manifest.CurrentGeneration))
                {
                    try
                    {
                        kit.Confinement.RequireConfined(kit.Parse(yaml, name, declarative: false), caller);
                    }
                    catch (ContainerDException e)
                    {
                        throw new ContainerDException(e.Kind, $"generation {number} of the archive: {e.Message}; nothing was imported");
                    }
                }
            }
            kit.Runtime.RequireHostFit(definition, ids);
            kit.Store.WriteDefinition(name, currentYaml);

            FaultInjection.Before(CrashSteps.ImportUnpackRootfs);
            string rootfs = kit.Paths.Rootfs(name);
            Rootfs.Create(rootfs, ids.Start);
            await ExpectAsync(reader, SectionKind.Rootfs, "", ct).ConfigureAwait(false);
            job.Log($"unpacking the root of {name} into ids {ids}");
            await AsContainerRoot.TarExtractAsync(ids, rootfs, tar =>
                reader.ReadDataAsync("the root", long.MaxValue, chunk => tar.WriteAsync(chunk, ct).AsTask(), ct), ct).ConfigureAwait(false);
            Rootfs.Enclose(kit.Paths.StateDir(name), ids.Start);

            var systems = manifest.Generations.Select(g => g.System).Distinct().ToList();
            var missing = await kit.Nix.MissingAsync(systems, ct).ConfigureAwait(false);
            await ExpectAsync(reader, SectionKind.Closure, "", ct).ConfigureAwait(false);
            string closureFile = kit.Paths.ImportClosureFile(name);
            if (missing.Count == 0)
            {
                job.Log("the store has every system of the archive already");
                await reader.ReadDataAsync("the closure", long.MaxValue, _ => Task.CompletedTask, ct).ConfigureAwait(false);
            }
            else if (!caller.IsRoot)
            {
                throw new ContainerDException(ErrorKind.AccessDenied,
                    $"the archive's systems are not in this store ({string.Join(", ", missing)}): only root may import store paths (nix-store --import trusts them); copy them with nix copy, or ask root to import");
            }
            else
            {
                await using var file = new FileStream(closureFile, new FileStreamOptions
                {
                    Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = StateStore.FileMode, BufferSize = ExportArchive.ChunkBytes,
                });
                await reader.ReadDataAsync("the closure", long.MaxValue, chunk => file.WriteAsync(chunk, ct).AsTask(), ct).ConfigureAwait(false);
                if (file.Length == 0)
                {
                    throw new ContainerDException(ErrorKind.InvalidArgs,
                        $"the archive carries no closure (it was exported for a host that has it) and this store lacks {string.Join(", ", missing)}; nothing was imported");
                }
            }
            await ExpectAsync(reader, SectionKind.End, "", ct).ConfigureAwait(false);
            await reader.ReadDataAsync("the end", 0, _ => Task.CompletedTask, ct).ConfigureAwait(false);

            // The whole archive is read and checked: only now does anything enter the store.
            FaultInjection.Before(CrashSteps.ImportImportClosure);
            if (missing.Count > 0)
            {
                job.Log($"importing the closure of {string.Join(", ", missing)} into the store");
                await NixTool.ImportAsync(async stdin =>
                {
                    await using var file = File.OpenRead(closureFile);
                    await file.CopyToAsync(stdin, ct).ConfigureAwait(false);
                }, ct).ConfigureAwait(false);
                File.Delete(closureFile);
            }
            // Rooted until the profile holds them: a GC between the import and the profile must not take them.
            Directory.CreateDirectory(kit.Paths.ImportRootsDir(name));
            foreach (var (path, i) in systems.Select((s, i) => (s, i)))
            {
                await kit.Nix.AddRootAsync(path, Path.Combine(kit.Paths.ImportRootsDir(name), i.ToString(CultureInfo.InvariantCulture)), ct).ConfigureAwait(false);
            }

            FaultInjection.Before(CrashSteps.ImportSetProfile);
            var numbers = new Dictionary<int, int>();
            foreach (var g in manifest.Generations.OrderBy(g => g.Number))
            {
                numbers[g.Number] = await kit.Nix.SetProfileAsync(kit.Paths.ProfileDir(name), g.System, ct).ConfigureAwait(false);
                kit.Store.WriteGenerationDefinition(name, numbers[g.Number], definitions[g.Number]);
            }
            int current = numbers[manifest.CurrentGeneration];
            if (NixTool.CurrentGeneration(kit.Paths.ProfileDir(name)) != current)
            {
                await kit.Nix.SwitchGenerationAsync(kit.Paths.ProfileDir(name), current, ct).ConfigureAwait(false);
            }
            FileTree.Delete(kit.Paths.ImportRootsDir(name));
            string system = manifest.Generations.Single(g => g.Number == manifest.CurrentGeneration).System;
            state = state with { Phase = Phase.Ready, Generation = current, SystemPath = system, DefinitionHash = DefinitionHash.Of(currentYaml) };
            var container = new Container(state, definition, currentYaml);
            kit.Runtime.WriteLxcConfig(container);
            FaultInjection.Before(CrashSteps.ImportMarkReady);
            kit.Store.Write(state);
            job.Log($"imported {name} with uids and gids {ids}: generation(s) {string.Join(", ", numbers.Values.Order())}, generation {current} current");
            kit.Registry.Add(container);
        }
        catch
        {
            // As a failed create: whatever of the name exists goes, and its range is free again.
            await kit.Runtime.RemoveAsync(name, CancellationToken.None).ConfigureAwait(false);
            throw;
        }
    }

    private static async Task ExpectAsync(ArchiveReader reader, SectionKind kind, string name, CancellationToken cancellationToken)
    {
        var (found, foundName) = await reader.NextAsync(cancellationToken).ConfigureAwait(false);
        if (found != kind || foundName != name)
        {
            throw new ContainerDException(ErrorKind.InvalidArgs,
                $"the archive is refused: it has a {found} section '{foundName}' where its {kind} section '{name}' belongs; nothing was imported");
        }
    }
}
