using System.Globalization;
using System.Text;
using ContainerD.Contract;
using ContainerD.Daemon.Bus;
using ContainerD.Daemon.Containers;
using ContainerD.Daemon.Jobs;
using ContainerD.Domain.Archive;
using ContainerD.Domain;
using ContainerD.Os.Filesystem;
using ContainerD.Os.Nix;
using Microsoft.Win32.SafeHandles;

namespace ContainerD.Daemon.Operations;

/// <summary>
/// export: the container as one archive (docs/EXPORT.md) written into a file descriptor the caller
/// opened — a file, a pipe, ssh: the daemon never opens a path for it. The manifest, the definition
/// of each generation, the writable root as a tar with container-relative owners (made as the
/// container's root, the container frozen meanwhile), and the closure of the systems. Changes nothing.
/// </summary>
public sealed class ExportOperation(OperationKit kit) : IManagerVerb
{
    public const string Name = "export";

    public IReadOnlyList<string> Members { get; } = [Wire.Manager.ExportContainer];

    public Func<Caller, ValueTask<Job>> Bind(ref CallArguments call)
    {
        string name = call.Name();
        var archive = call.Handle();
        var options = call.Options(ExportOptions.Keys);
        return _ => new(Begin(name, archive, options.GetValueOrDefault(ExportOptions.AllGenerations, false),
            options.GetValueOrDefault(ExportOptions.Closure, true)));
    }

    /// <param name="closure">False leaves the closure section empty: the target has the systems (copy pushed them).</param>
    public Job Begin(string name, SafeFileHandle archive, bool allGenerations, bool closure)
    {
        var container = kit.Registry.Get(name);
        OperationKit.RefuseIfEphemeral(container, "export of its root (export its definition instead)");
        return kit.ForExisting(name, Name, async (job, c) =>
        {
            try
            {
                await using var output = new FileStream(archive, FileAccess.Write, ExportArchive.ChunkBytes);
                await StepsAsync(job, c, output, allGenerations, closure).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
            {
                // A full disk, a closed pipe (the reader went away), a descriptor not open for writing.
                throw new ContainerDException(ErrorKind.Failed, $"the archive of '{name}' could not be written: {e.Message}");
            }
        });
    }

    private async Task StepsAsync(Job job, Container container, Stream output, bool allGenerations, bool withClosure)
    {
        string name = container.Name;
        var profile = NixTool.ListGenerations(kit.Paths.ProfileDir(name));
        var generations = profile.Where(g => allGenerations || g.Current).Select(g => new ExportedGeneration(g.Number, g.StorePath)).ToList();
        if (generations.Count == 0)
        {
            throw new ContainerDException(ErrorKind.Failed, $"container '{name}' has no current generation to export");
        }
        var manifest = new ExportManifest
        {
            FormatVersion = ExportArchive.FormatVersion,
            Name = name,
            UidCount = container.Ids.Count,
            ExportedAt = kit.Clock.GetUtcNow(),
            CurrentGeneration = container.State.Generation,
            Generations = generations,
        };
        var writer = new ArchiveWriter(output);
        await writer.WriteSectionAsync(SectionKind.Manifest, "", manifest.ToJson(), job.Canceled).ConfigureAwait(false);
        foreach (var g in generations)
        {
            // A generation from before definitions were kept goes with the current definition.
            string yaml = kit.Store.ReadGenerationDefinition(name, g.Number) ?? container.DefinitionYaml;
            await writer.WriteSectionAsync(SectionKind.Definition, g.Number.ToString(CultureInfo.InvariantCulture), Encoding.UTF8.GetBytes(yaml), job.Canceled)
                .ConfigureAwait(false);
        }
        job.Log($"exporting the root of {name}");
        await kit.WhileFrozenAsync(job, container, "its root is archived", () =>
            writer.WriteSectionAsync(SectionKind.Rootfs, "", write =>
                AsContainerRoot.TarCreateAsync(container.Ids, kit.Paths.Rootfs(name), tar => CopyAsync(tar, write), job.Canceled), job.Canceled)).ConfigureAwait(false);
        var closure = withClosure ? await kit.Nix.ClosureAsync(generations.Select(g => g.System).ToList(), job.Canceled).ConfigureAwait(false) : [];
        job.Log(withClosure ? $"exporting the closure of {generations.Count} generation(s): {closure.Count} store paths" : "the closure stays out: the target has it");
        await writer.WriteSectionAsync(SectionKind.Closure, "", write =>
            closure.Count == 0 ? Task.CompletedTask : NixTool.ExportAsync(closure, export => CopyAsync(export, write), job.Canceled), job.Canceled).ConfigureAwait(false);
        await writer.WriteEndAsync(job.Canceled).ConfigureAwait(false);
        await output.FlushAsync(job.Canceled).ConfigureAwait(false);
        job.Log($"exported {name}: generation(s) {string.Join(", ", generations.Select(g => g.Number))}, its root and {closure.Count} store paths");
    }

    private static async Task CopyAsync(Stream from, Func<ReadOnlyMemory<byte>, Task> write)
    {
        var buffer = new byte[ExportArchive.ChunkBytes];
        int read;
        while ((read = await from.ReadAsync(buffer).ConfigureAwait(false)) > 0)
        {
            await write(buffer.AsMemory(0, read)).ConfigureAwait(false);
        }
    }
}
