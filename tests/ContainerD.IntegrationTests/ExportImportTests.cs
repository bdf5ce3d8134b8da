using System.Text;
using ContainerD.Contract;
using ContainerD.IntegrationTests.Harness;

namespace ContainerD.IntegrationTests;

/// <summary>
/// export and import through the CLI on real containers: the root comes back with its owners
/// shifted into the new range, the generations with their systems and definitions; an archive
/// streamed through a pipe works as a file does; a truncated or damaged one is refused with
/// nothing made.
/// </summary>
public sealed class ExportImportTests : IDisposable
{
    private static readonly Dictionary<string, string> NoEnv = [];
    private readonly string _dir = Directory.CreateTempSubdirectory("ctd-export-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);



    /// <summary>A container "exp" at generation 2 of 2, running, with /root/marker owned by its uid 1000.</summary>
    private static async Task<ContainerDClient> MakeAsync(DaemonUnderTest daemon)
    {
        var client = await daemon.ConnectAsync();
        Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync("exp", DaemonUnderTest.NixDefinition("exp", "1")))).Succeeded);
        Assert.True((await client.RunJobAsync(c => c.UpdateContainerAsync("exp", DaemonUnderTest.NixDefinition("exp", "2")))).Succeeded);
        Assert.True((await client.RunJobAsync(c => c.StartContainerAsync("exp"))).Succeeded);
        await Checked.InsideAsync(client, "exp", "sh", "-c", "echo exported > /root/marker && chown 1000:1000 /root/marker && mkdir -p /srv/a/b && echo deep > /srv/a/b/c");
        return client;
    }

    [Fact]
    public async Task Export_destroy_import_gives_back_the_root_with_its_owners_and_every_generation()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        using var client = await MakeAsync(daemon);
        var generations = (await client.ListGenerationsAsync("exp")).Select(g => g.StorePath).ToList();
        string archive = Path.Combine(_dir, "exp.ctdx");

        var exported = await Checked.CliAsync(daemon, "export", "exp", archive, "--all-generations");
        Assert.Contains("freezing exp while its root is archived", exported.Stdout);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(archive));
        Assert.Equal("running", (await client.ListContainersAsync())[0].State);
        // An existing file is not overwritten.
        var again = await daemon.CliAsync("export", "exp", archive);
        Assert.Equal(6, again.ExitCode);
        Assert.Contains("exists already", again.Stderr);

        Assert.True((await client.RunJobAsync(c => c.DestroyContainerAsync("exp"))).Succeeded);
        var imported = await Checked.CliAsync(daemon, "import", archive);
        Assert.Contains("exp: imported", imported.Stdout);
        Assert.True((await client.RunJobAsync(c => c.StartContainerAsync("exp"))).Succeeded);
        var row = Assert.Single(await client.ListContainersAsync());
        Assert.Equal("exported", await Checked.InsideAsync(client, "exp", "cat", "/root/marker"));
        Assert.Equal("1000", await Checked.InsideAsync(client, "exp", "stat", "-c", "%u", "/root/marker"));
        Assert.Equal(row.UidBase + 1000, HostFacts.OwnerOf(Path.Combine(daemon.StateDir, "containers", "exp", "rootfs", "root", "marker")));
        Assert.Equal("deep", await Checked.InsideAsync(client, "exp", "cat", "/srv/a/b/c"));
        // The same systems, in order, the newest current; and the definition of each.
        var after = await client.ListGenerationsAsync("exp");
        Assert.Equal(generations, after.Select(g => g.StorePath));
        Assert.True(after[^1].Current);
        Assert.Equal("2", await Checked.InsideAsync(client, "exp", "cat", "/nix/var/nix/profiles/system/etc/variant"));
        Assert.True((await client.RunJobAsync(c => c.RollbackContainerAsync("exp", 0))).Succeeded);
        Assert.Contains("variant: \"1\"", (await client.GetAllPropertiesAsync(row.Path, Names.ContainerInterface))["Definition"].GetString());
        await Invariants.AssertHoldAsync(daemon, client);
    }

    [Fact]
    public async Task An_archive_streamed_through_a_pipe_makes_a_copy_with_its_own_ids_beside_the_original()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        using var client = await MakeAsync(daemon);
        // containerctl export exp - | containerctl import - --name copy: two processes, one pipe, no file.
        var (exportExit, exportErr, importExit, importErr) = await Programs.PipeAsync(
            (Repo.Cli, ["--bus", daemon.Bus.Address, "export", "exp", "-"]),
            (Repo.Cli, ["--bus", daemon.Bus.Address, "import", "-", "--name", "copy"]));
        Assert.True(exportExit == 0, $"export: {exportErr}");
        Assert.True(importExit == 0, $"import: {importErr}");
        // With stdout carrying the archive, export says what it did on stderr.
        Assert.Contains("exp: exported to stdout", exportErr);

        var rows = (await client.ListContainersAsync()).ToDictionary(r => r.Name);
        Assert.Equal(["copy", "exp"], rows.Keys.Order());
        Assert.NotEqual(rows["exp"].UidBase, rows["copy"].UidBase);
        Assert.True((await client.RunJobAsync(c => c.StartContainerAsync("copy"))).Succeeded);
        Assert.Equal("exported", await Checked.InsideAsync(client, "copy", "cat", "/root/marker"));
        Assert.Equal("1000", await Checked.InsideAsync(client, "copy", "stat", "-c", "%u", "/root/marker"));
        Assert.Equal(rows["copy"].UidBase + 1000, HostFacts.OwnerOf(Path.Combine(daemon.StateDir, "containers", "copy", "rootfs", "root", "marker")));
        // Only the current generation went: one, numbered 1 here, with the definition under its new name.
        Assert.Equal([1u], (await client.ListGenerationsAsync("copy")).Select(g => g.Number));
        string definition = (await client.GetAllPropertiesAsync(rows["copy"].Path, Names.ContainerInterface))["Definition"].GetString();
        Assert.Contains("name: copy", definition);
        Assert.Contains("variant: \"2\"", definition);
        await Invariants.AssertHoldAsync(daemon, client);
    }

    [Fact]
    public async Task A_truncated_or_damaged_archive_is_refused_and_nothing_is_made()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        using var client = await MakeAsync(daemon);
        string archive = Path.Combine(_dir, "good.ctdx");
        await Checked.CliAsync(daemon, "export", "exp", archive);
        byte[] bytes = File.ReadAllBytes(archive);
        var before = await client.ListContainersAsync();

        var bad = new (string Name, byte[] Bytes, string Why)[]
        {
            ("half", bytes[..(bytes.Length / 2)], "truncated"),
            ("no-end", bytes[..^45], "truncated"),
            ("flipped", Flip(bytes, bytes.Length / 2), "the archive is refused"),
            ("empty", [], "truncated"),
            ("not-one", Encoding.UTF8.GetBytes("#!/bin/sh\nrm -rf /\n"), "not a containerctl export archive"),
        };
        foreach (var (name, content, why) in bad)
        {
            string file = Path.Combine(_dir, name + ".ctdx");
            File.WriteAllBytes(file, content);
            var result = await daemon.CliAsync("import", file, "--name", "bad-" + name);
            Assert.True(result.ExitCode == 2, $"{name}: {result}");
            Assert.Contains(why, result.Stderr);
            Assert.Contains("nothing was imported", result.Stderr);
            Assert.Equal(before.Select(r => r.Name), (await client.ListContainersAsync()).Select(r => r.Name));
            Assert.False(Directory.Exists(Path.Combine(daemon.StateDir, "containers", "bad-" + name)), name);
        }
        // Straight over the bus: a bad name, an empty stream, a descriptor the daemon cannot write.
        var badName = await Assert.ThrowsAsync<Tmds.DBus.Protocol.DBusErrorReplyException>(() => client.ImportContainerAsync(File.OpenHandle("/dev/null"), "../etc"));
        Assert.Equal(Errors.NameOf("InvalidName"), badName.ErrorName);
        var empty = await Assert.ThrowsAsync<Tmds.DBus.Protocol.DBusErrorReplyException>(() => client.ImportContainerAsync(File.OpenHandle("/dev/null"), ""));
        Assert.Equal(Errors.InvalidArgs, empty.ErrorName);
        Assert.Contains("truncated", empty.Message);
        var readOnly = await client.RunJobAsync(c => c.ExportContainerAsync("exp", File.OpenHandle("/dev/null"), false));
        Assert.False(readOnly.Succeeded);
        Assert.Contains("the archive of 'exp' could not be written", readOnly.Message);
        Assert.Equal("running", (await client.ListContainersAsync()).Single(r => r.Name == "exp").State);
        var missing = await daemon.CliAsync("import", Path.Combine(_dir, "nope.ctdx"));
        Assert.Equal(3, missing.ExitCode);
        // Paths that are no archive to read or write: usage errors that say so, no stack trace.
        var directory = await daemon.CliAsync("import", _dir);
        Assert.True(directory.ExitCode == 2, directory.ToString());
        Assert.Contains($"{_dir} is a directory, not an archive", directory.Stderr);
        var intoDirectory = await daemon.CliAsync("export", "exp", _dir);
        Assert.True(intoDirectory.ExitCode == 2, intoDirectory.ToString());
        Assert.Contains($"{_dir} is a directory", intoDirectory.Stderr);
        var emptyName = await daemon.CliAsync("export", "exp", "");
        Assert.True(emptyName.ExitCode == 2, emptyName.ToString());
        Assert.Contains("the archive file name is empty", emptyName.Stderr);
        Assert.DoesNotContain("   at ", emptyName.Stderr + directory.Stderr + intoDirectory.Stderr);
        var taken = await daemon.CliAsync("import", archive);
        Assert.Equal(6, taken.ExitCode);
        Assert.Contains("container 'exp' already exists", taken.Stderr);
        // The ranges the refused imports held are free again: a good import gets the next one.
        await Checked.CliAsync(daemon, "import", archive, "--name", "good");
        var good = (await client.ListContainersAsync()).Single(r => r.Name == "good");
        Assert.Equal(before[0].UidBase + before[0].UidSize, good.UidBase);
        await Invariants.AssertHoldAsync(daemon, client);
    }

    private static byte[] Flip(byte[] bytes, int at)
    {
        var copy = (byte[])bytes.Clone();
        copy[at] ^= 0x01;
        return copy;
    }
}
