using System.Globalization;
using System.Text;
using ContainerD.Contract;
using ContainerD.IntegrationTests.Harness;

namespace ContainerD.IntegrationTests;

/// <summary>
/// snapshot, snapshots, restore, reset and snapshot --delete through the CLI, on real containers:
/// the root's files come back with their owners, the generation comes back with its definition, a
/// running container is frozen for the copy and restarted for a restore, and what the container
/// put in its root (symlinks to host paths) is copied as it is, never followed.
/// </summary>
public sealed class SnapshotTests
{
    private static readonly Dictionary<string, string> NoEnv = [];

    /// <summary>A walk that lists links but never goes down them (.NET's recursion follows a link to a directory).</summary>
    private static readonly EnumerationOptions NoLinks = new() { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint };



    [Fact]
    public async Task A_snapshot_brings_back_the_root_with_its_owners_and_the_generation_with_its_definition()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        using var client = await daemon.ConnectAsync();
        Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync("snap", DaemonUnderTest.NixDefinition("snap", "1")))).Succeeded);
        Assert.True((await client.RunJobAsync(c => c.StartContainerAsync("snap"))).Succeeded);
        await Checked.InsideAsync(client, "snap", "sh", "-c", "echo kept > /root/marker && chown 1000:1000 /root/marker && mkdir -p /var/lib/app && echo data > /var/lib/app/db");

        var taken = await Checked.CliAsync(daemon, "snapshot", "snap", "before");
        Assert.Contains("freezing snap while its root is copied", taken.Stderr + taken.Stdout);
        // Thawed again: it answers.
        Assert.Equal("kept", await Checked.InsideAsync(client, "snap", "cat", "/root/marker"));
        var listed = await Checked.CliAsync(daemon, "snapshots", "snap");
        Assert.Matches(@"SNAPSHOT\s+CREATED\s+GENERATION\s+SYSTEM", listed.Stdout);
        Assert.Matches(@"before\s+\S+ \S+\s+1\s+/nix/store/\S+-busybox-system-snap-1", listed.Stdout);

        // The copy is the container root's: every file in it owned by an id of its range, none by host root.
        var row = Assert.Single(await client.ListContainersAsync());
        string copy = Path.Combine(daemon.StateDir, "containers", "snap", "snapshots", "before", "rootfs");
        Assert.Equal(row.UidBase + 1000, HostFacts.OwnerOf(Path.Combine(copy, "root", "marker")));
        Assert.All(Directory.EnumerateFileSystemEntries(copy, "*", NoLinks),
            f => Assert.InRange(HostFacts.OwnerOf(f), row.UidBase, row.UidBase + row.UidSize - 1));
        // Its system is a GC root while the snapshot exists.
        string system = (await client.GetAllPropertiesAsync(row.Path, Names.ContainerInterface))["SystemPath"].GetString();
        var roots = await Programs.RunChecked("nix-store", "--query", "--roots", system);
        Assert.Contains(Path.Combine(daemon.StateDir, "containers", "snap", "snapshots", "before", "system"), roots);

        // Change everything: the root, and the generation.
        await Checked.InsideAsync(client, "snap", "sh", "-c", "rm /root/marker && echo new > /root/other");
        Assert.True((await client.RunJobAsync(c => c.UpdateContainerAsync("snap", DaemonUnderTest.NixDefinition("snap", "2")))).Succeeded);
        Assert.Equal(2u, (await client.ListContainersAsync())[0].Generation);

        // Piped, a restore wants --yes; nothing changes without it.
        var unconfirmed = await daemon.CliAsync("restore", "snap", "before");
        Assert.Equal(2, unconfirmed.ExitCode);
        Assert.Contains("add --yes", unconfirmed.Stderr);
        Assert.Equal("new", await Checked.InsideAsync(client, "snap", "cat", "/root/other"));

        var restored = await Checked.CliAsync(daemon, "restore", "snap", "before", "--yes");
        Assert.Contains("stopping snap for the restore", restored.Stderr + restored.Stdout);
        row = Assert.Single(await client.ListContainersAsync());
        Assert.Equal("running", row.State);
        Assert.Equal("kept", await Checked.InsideAsync(client, "snap", "cat", "/root/marker"));
        Assert.Equal("1000", await Checked.InsideAsync(client, "snap", "stat", "-c", "%u", "/root/marker"));
        Assert.Equal("data", await Checked.InsideAsync(client, "snap", "cat", "/var/lib/app/db"));
        Assert.NotEqual(0, (await client.RunCommandAsync(row.Path, ["cat", "/root/other"], NoEnv)).ExitCode);
        // The generation it ran, its definition with it, and booted.
        var properties = await client.GetAllPropertiesAsync(row.Path, Names.ContainerInterface);
        Assert.Equal(system, properties["SystemPath"].GetString());
        Assert.Contains("variant: \"1\"", properties["Definition"].GetString());
        Assert.Equal("1", await Checked.InsideAsync(client, "snap", "cat", "/nix/var/nix/profiles/system/etc/variant"));
        Assert.False(Directory.Exists(Path.Combine(daemon.StateDir, "containers", "snap", "rootfs.new")));
        Assert.False(File.Exists(Path.Combine(daemon.StateDir, "containers", "snap", "rootfs-swap")));

        // reset: the root is the skeleton again; the snapshot stays.
        await Checked.CliAsync(daemon, "reset", "snap", "--yes");
        Assert.Equal("running", (await client.ListContainersAsync())[0].State);
        Assert.NotEqual(0, (await client.RunCommandAsync(row.Path, ["cat", "/root/marker"], NoEnv)).ExitCode);
        Assert.Equal("dev etc home nix proc root run sys tmp var",
            string.Join(' ', Directory.EnumerateFileSystemEntries(Path.Combine(daemon.StateDir, "containers", "snap", "rootfs")).Select(Path.GetFileName).Order(StringComparer.Ordinal)));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(daemon.StateDir, "containers", "snap", "rootfs", "root")));
        Assert.Contains("before", (await Checked.CliAsync(daemon, "snapshots", "snap")).Stdout);

        await Checked.CliAsync(daemon, "snapshot", "snap", "--delete", "before");
        Assert.Equal("", (await Checked.CliAsync(daemon, "snapshots", "snap")).Stdout);
        Assert.False(Directory.Exists(Path.Combine(daemon.StateDir, "containers", "snap", "snapshots", "before")));
        await Invariants.AssertHoldAsync(daemon, client);
    }

    [Fact]
    public async Task What_the_container_put_in_its_root_is_copied_as_it_is_never_followed_with_host_rights()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        using var client = await daemon.ConnectAsync();
        Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync("sly", DaemonUnderTest.NixDefinition("sly")))).Succeeded);
        Assert.True((await client.RunJobAsync(c => c.StartContainerAsync("sly"))).Succeeded);
        // Links that name host paths (as the host would read them), and odd names.
        await Checked.InsideAsync(client, "sly", "sh", "-c", "ln -s /etc/shadow /root/shadow && ln -s /etc /root/etc-dir && ln -s ../../../../../../etc/shadow /root/up"
            + " && touch \"/root/$(printf 'a\\tb')\" && mkdir -p /root/deep/a/b/c/d/e/f/g/h && echo x > /root/deep/a/b/c/d/e/f/g/h/f");
        await Checked.CliAsync(daemon, "snapshot", "sly", "links");
        string copy = Path.Combine(daemon.StateDir, "containers", "sly", "snapshots", "links", "rootfs", "root");
        Assert.Equal("/etc/shadow", new FileInfo(Path.Combine(copy, "shadow")).LinkTarget);
        Assert.Equal("/etc", new FileInfo(Path.Combine(copy, "etc-dir")).LinkTarget);
        Assert.Equal("../../../../../../etc/shadow", new FileInfo(Path.Combine(copy, "up")).LinkTarget);
        Assert.True(File.Exists(Path.Combine(copy, "a\tb")));
        Assert.Equal("x\n", File.ReadAllText(Path.Combine(copy, "deep/a/b/c/d/e/f/g/h/f")));
        // Nothing of the host's came along: no file in the snapshot holds the host's shadow file.
        byte[] shadow = File.ReadAllBytes("/etc/shadow");
        var leaked = Directory.EnumerateFiles(Path.Combine(daemon.StateDir, "containers", "sly", "snapshots"), "*", NoLinks)
            .Where(f => new FileInfo(f) is { LinkTarget: null, Length: var length } && length == shadow.Length && File.ReadAllBytes(f).AsSpan().SequenceEqual(shadow))
            .ToList();
        Assert.True(leaked.Count == 0, "the host's /etc/shadow in the snapshot: " + string.Join(", ", leaked));

        // Restored, they are links again inside, and they resolve inside.
        await Checked.InsideAsync(client, "sly", "sh", "-c", "rm -rf /root/*");
        await Checked.CliAsync(daemon, "restore", "sly", "links", "--yes");
        Assert.Equal("/etc/shadow", await Checked.InsideAsync(client, "sly", "readlink", "/root/shadow"));
        Assert.Equal("x", await Checked.InsideAsync(client, "sly", "cat", "/root/deep/a/b/c/d/e/f/g/h/f"));
        await Invariants.AssertHoldAsync(daemon, client);
    }

    [Fact]
    public async Task Bad_snapshot_requests_are_refused_with_what_to_do_and_change_nothing()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        using var client = await daemon.ConnectAsync();
        Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync("fine", DaemonUnderTest.NixDefinition("fine")))).Succeeded);
        Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync("eph", DaemonUnderTest.NixDefinition("eph", extra: "ephemeral: true")))).Succeeded);

        var cases = new (string[] Args, int Exit, string Message)[]
        {
            (["snapshot", "nope"], 3, "there is no container 'nope'"),
            (["snapshot", "fine", "../up"], 2, "snapshot name '../up' is not valid"),
            (["snapshot", "fine", "Upper"], 2, "is not valid"),
            (["snapshot", "fine", new string('a', 64)], 2, "at most 63"),
            (["snapshot", "eph"], 2, "is ephemeral"),
            (["restore", "fine", "missing", "--yes"], 3, "container 'fine' has no snapshots"),
            (["snapshot", "fine", "--delete", "missing"], 3, "has no snapshots"),
            (["reset", "eph", "--yes"], 2, "is ephemeral"),
            (["reset", "fine"], 2, "add --yes"),
            (["snapshots", "nope"], 3, "there is no container 'nope'"),
        };
        foreach (var (args, exit, message) in cases)
        {
            var result = await daemon.CliAsync(args);
            Assert.True(result.ExitCode == exit, $"{string.Join(' ', args)}: {result}");
            Assert.Contains(message, result.Stderr);
        }
        await Checked.CliAsync(daemon, "snapshot", "fine", "one");
        var again = await daemon.CliAsync("snapshot", "fine", "one");
        Assert.Equal(6, again.ExitCode);
        Assert.Contains("has a snapshot 'one' already", again.Stderr);
        var missing = await daemon.CliAsync("restore", "fine", "two", "--yes");
        Assert.Contains("it has one", missing.Stderr);
        // A name given by time when none is.
        await Checked.CliAsync(daemon, "snapshot", "fine");
        Assert.Matches(@"\n\d{8}-\d{6}\s", (await Checked.CliAsync(daemon, "snapshots", "fine")).Stdout);
        Assert.Equal(2, (await client.ListSnapshotsAsync("fine")).Length);
        await Invariants.AssertHoldAsync(daemon, client);
    }
}
