using System.Text;
using ContainerD.Domain;
using ContainerD.Domain.Archive;
using ContainerD.Domain.Definitions;

namespace ContainerD.Tests.Archive;

/// <summary>The export format: what is written reads back the same, and any cut or flipped byte is refused.</summary>
public sealed class ExportArchiveTests
{
    private static async Task<byte[]> WriteAsync(params (SectionKind Kind, string Name, byte[] Data)[] sections)
    {
        using var stream = new MemoryStream();
        var writer = new ArchiveWriter(stream);
        foreach (var (kind, name, data) in sections)
        {
            await writer.WriteSectionAsync(kind, name, data, CancellationToken.None);
        }
        await writer.WriteEndAsync(CancellationToken.None);
        return stream.ToArray();
    }

    private static async Task<List<(SectionKind, string, byte[])>> ReadAsync(byte[] archive)
    {
        var reader = new ArchiveReader(new MemoryStream(archive));
        var sections = new List<(SectionKind, string, byte[])>();
        while (true)
        {
            var (kind, name) = await reader.NextAsync(CancellationToken.None);
            var data = await reader.ReadAllAsync(kind.ToString(), 8 << 20, CancellationToken.None);
            sections.Add((kind, name, data));
            if (kind == SectionKind.End)
            {
                return sections;
            }
        }
    }

    private static readonly byte[] Big = Enumerable.Range(0, (3 << 20) + 17).Select(i => (byte)(i * 31)).ToArray();

    [Fact]
    public async Task Sections_read_back_as_written_also_across_chunks()
    {
        var archive = await WriteAsync((SectionKind.Manifest, "", "{}"u8.ToArray()), (SectionKind.Definition, "3", "name: web\n"u8.ToArray()),
            (SectionKind.Rootfs, "", Big), (SectionKind.Closure, "", []));
        var read = await ReadAsync(archive);
        Assert.Equal([SectionKind.Manifest, SectionKind.Definition, SectionKind.Rootfs, SectionKind.Closure, SectionKind.End], read.Select(s => s.Item1));
        Assert.Equal("3", read[1].Item2);
        Assert.Equal(Big, read[2].Item3);
        Assert.Empty(read[3].Item3);
        Assert.True(archive.AsSpan().StartsWith(ExportArchive.Magic));
    }

    [Fact]
    public async Task An_archive_cut_at_any_byte_is_refused_as_truncated()
    {
        var archive = await WriteAsync((SectionKind.Manifest, "", "{\"a\":1}"u8.ToArray()), (SectionKind.Rootfs, "", new byte[300]));
        for (int length = 0; length < archive.Length; length++)
        {
            var e = await Assert.ThrowsAsync<ContainerDException>(() => ReadAsync(archive[..length]));
            Assert.Equal(ErrorKind.InvalidArgs, e.Kind);
            Assert.Contains("truncated", e.Message);
            Assert.EndsWith("nothing was imported", e.Message);
        }
    }

    [Fact]
    public async Task A_flipped_byte_anywhere_is_refused()
    {
        var archive = await WriteAsync((SectionKind.Manifest, "", "{\"a\":1}"u8.ToArray()), (SectionKind.Rootfs, "", new byte[300]));
        for (int at = 0; at < archive.Length; at++)
        {
            var damaged = (byte[])archive.Clone();
            damaged[at] ^= 0x40;
            var e = await Assert.ThrowsAsync<ContainerDException>(() => ReadAsync(damaged));
            Assert.Equal(ErrorKind.InvalidArgs, e.Kind);
            Assert.StartsWith("the archive is refused: ", e.Message);
        }
    }

    [Fact]
    public async Task Another_file_is_not_taken_for_an_archive_and_a_section_may_not_pass_its_bound()
    {
        var e = await Assert.ThrowsAsync<ContainerDException>(() => ReadAsync(Encoding.UTF8.GetBytes("#!/bin/sh\necho hello\n")));
        Assert.Contains("not a containerctl export archive", e.Message);
        var archive = await WriteAsync((SectionKind.Manifest, "", new byte[5000]));
        var reader = new ArchiveReader(new MemoryStream(archive));
        await reader.NextAsync(CancellationToken.None);
        e = await Assert.ThrowsAsync<ContainerDException>(() => reader.ReadAllAsync("the manifest", 4096, CancellationToken.None));
        Assert.Contains("the manifest is longer than 4096 bytes", e.Message);
    }

    private static ExportManifest Manifest(string name = "web", int current = 2) => new()
    {
        FormatVersion = 1, Name = name, UidCount = 65536, ExportedAt = DateTimeOffset.UnixEpoch, CurrentGeneration = current,
        Generations = [new(1, "/nix/store/0123456789abcdfghijklmnpqrsvwxyz-system-1"), new(2, "/nix/store/0123456789abcdfghijklmnpqrsvwxyz-system-2")],
    };

    [Fact]
    public void A_manifest_reads_back_and_a_bad_one_says_what_is_wrong()
    {
        Assert.Equal(Manifest().Generations, ExportManifest.Parse(Manifest().ToJson()).Generations);
        foreach (var (bad, why) in new (ExportManifest, string)[]
        {
            (Manifest() with { FormatVersion = 2 }, "format version 2"),
            (Manifest("Bad/Name"), "container name is not valid"),
            (Manifest(current: 7), "do not hold the current one"),
            (Manifest() with { UidCount = 0 }, "asks for 0 ids"),
            (Manifest() with { Generations = [new(1, "/nix/store/../../etc/shadow-xxxxxxxxxxxxxxxxxxxxxxxxxxxx")] }, "not a number and a store path"),
            (Manifest() with { Generations = [new(1, "/etc/passwd")] }, "not a number and a store path"),
            (Manifest() with { Generations = [] }, "between 1 and 1000"),
        })
        {
            var e = Assert.Throws<ContainerDException>(() => ExportManifest.Parse(bad.ToJson()));
            Assert.Contains(why, e.Message);
        }
        Assert.Contains("not valid JSON", Assert.Throws<ContainerDException>(() => ExportManifest.Parse("{nope"u8)).Message);
    }

    [Fact]
    public void A_renamed_definition_names_the_new_container_and_keeps_the_rest()
    {
        const string yaml = "name: web\n# a comment\nsystem:\n  path: /nix/store/0123456789abcdfghijklmnpqrsvwxyz-system\nautostart: true\n";
        string renamed = DefinitionRename.WithName(yaml, "web2");
        var definition = DefinitionParser.Parse(renamed, "test", "web2");
        Assert.Equal(("web2", true), (definition.Name, definition.Autostart));
        Assert.Equal("web2", DefinitionParser.Parse(DefinitionRename.WithName("{\"name\": \"web\", \"system\": {\"path\": \"/nix/store/0123456789abcdfghijklmnpqrsvwxyz-system\"}}", "web2"), "t", "web2").Name);
        Assert.Throws<ContainerDException>(() => DefinitionRename.WithName(yaml, "../x"));
    }
}
