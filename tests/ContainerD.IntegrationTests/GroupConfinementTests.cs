using ContainerD.IntegrationTests.Harness;

namespace ContainerD.IntegrationTests;

/// <summary>
/// What a member of the admin group may do, as an unprivileged host user over the bus: bind only
/// sources under bindSourceRoots (reached through root's directories, never idmapped), and have
/// its Nix file read with its own rights and evaluated in restricted mode. Root may do anything.
/// </summary>
public sealed class GroupConfinementTests : IAsyncLifetime
{
    private string _dir = "";
    private PrivateBus _bus = null!;
    private DaemonUnderTest _daemon = null!;

    private string Allowed => Path.Combine(_dir, "allowed");

    public async Task InitializeAsync()
    {
        await TestUsers.EnsureAsync(TestUsers.Admin, "ctd-test-admins");
        _dir = BusConfigs.SharedDir();
        Directory.CreateDirectory(Allowed);
        File.SetUnixFileMode(Allowed, (UnixFileMode)0b111_101_101);
        _bus = PrivateBus.Start(BusConfigs.Open(_dir));
        _daemon = await DaemonUnderTest.StartAsync($"adminGroup: ctd-test-admins\nbindSourceRoots: [ {Allowed} ]", _bus);
    }

    public async Task DisposeAsync()
    {
        await _daemon.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>containerctl as the member, with a definition file it can read.</summary>
    private async Task<CliResult> MemberCreateAsync(string name, string yaml)
    {
        string file = Path.Combine(_dir, name + ".yaml");
        await File.WriteAllTextAsync(file, yaml);
        File.SetUnixFileMode(file, (UnixFileMode)0b110_100_100);
        var (exit, stdout, stderr) = await Programs.Run(TestUsers.As(TestUsers.Admin)[0],
            [.. TestUsers.As(TestUsers.Admin)[1..], Repo.Cli, "--bus", _bus.Address, "create", name, "-f", file]);
        return new CliResult(exit, stdout, stderr);
    }

    private static string Mounts(string host, string extra = "") =>
        $"bindMounts:\n  - {{ host: {host}, container: /data{extra} }}\n";

    [Fact]
    public async Task A_member_binds_only_under_bindSourceRoots_and_never_idmapped_while_root_binds_anything()
    {
        string system = await Systems.BuildAsync("confined");
        string Definition(string mounts) => $"system: {{ path: {system} }}\n{mounts}";
        Directory.CreateSymbolicLink(Path.Combine(Allowed, "sneaky"), "/etc");
        // A directory anyone may write to (not sticky): a member could swap a symlink in below it.
        string open = Path.Combine(Allowed, "open");
        Directory.CreateDirectory(Path.Combine(open, "data"));
        File.SetUnixFileMode(open, (UnixFileMode)0b111_111_111);

        foreach (var (host, extra, why) in new[]
        {
            ("/etc", ", idmapped: true", "idmapped bind mounts are for root only"),
            ("/etc", "", "is not under bindSourceRoots"),
            ("/", "", "is not under bindSourceRoots"),
            ("/nix/var/nix/db", "", "is not under bindSourceRoots"),
            ("/root", ", readOnly: false", "is not under bindSourceRoots"),
            (Allowed, "", "is not under bindSourceRoots"), // the root itself holds every member's sources
            (Path.Combine(Allowed, "data"), ", idmapped: true", "idmapped bind mounts are for root only"),
            (Path.Combine(Allowed, "sneaky"), "", "is a symbolic link"),
            (Path.Combine(Allowed, "sneaky", "shadow"), "", "is a symbolic link"),
            (Path.Combine(open, "data"), "", "must be a directory owned by root and writable only by root"),
        })
        {
            var refused = await MemberCreateAsync("refused", Definition(Mounts(host, extra)));
            Assert.True(refused.ExitCode == 4, $"{host}{extra}: {refused}");
            Assert.Contains(why, refused.Stderr);
        }
        // A local flake's directory is copied into the world-readable store by Nix, as root: root's only.
        var flake = await MemberCreateAsync("flaky", "system: { flake: \"/root#web\" }\n");
        Assert.True(flake.ExitCode == 4, flake.ToString());
        Assert.Contains("flake systems are for root only", flake.Stderr);
        using var client = await _daemon.ConnectAsync();
        Assert.Empty(await client.ListContainersAsync());

        // Under the root, through root's directories, made by the daemon: allowed, and it starts.
        var made = await MemberCreateAsync("member", Definition(
            $"bindMounts:\n  - {{ host: {Allowed}/member/data, container: /data, readOnly: false, create: true }}\n"));
        Assert.True(made.ExitCode == 0, made.ToString());
        var start = await Programs.Run(TestUsers.As(TestUsers.Admin)[0],
            [.. TestUsers.As(TestUsers.Admin)[1..], Repo.Cli, "--bus", _bus.Address, "start", "member"]);
        Assert.True(start.ExitCode == 0, start.Stderr);
        Assert.Equal(0, (await _daemon.CliAsync("run", "member", "--", "touch", "/data/ok")).ExitCode);

        // Root may bind anything, idmapped too.
        var rooted = await client.RunJobAsync(c => c.CreateContainerAsync("rooted", Definition(Mounts("/etc", ", idmapped: true"))));
        Assert.True(rooted.Succeeded, rooted.Message);
    }

    [Fact]
    public async Task A_members_Nix_file_is_read_with_its_rights_and_evaluated_in_restricted_mode()
    {
        string shadowLine = (await File.ReadAllLinesAsync("/etc/shadow")).First(l => l.StartsWith("root:", StringComparison.Ordinal));
        async Task<string> NixFile(string name, string text, UnixFileMode mode)
        {
            string file = Path.Combine(_dir, name + ".nix");
            await File.WriteAllTextAsync(file, text);
            File.SetUnixFileMode(file, mode);
            return file;
        }
        var readable = (UnixFileMode)0b110_100_100;
        string Definition(string file) => $"system:\n  nix: {{ file: {file} }}\n";

        // The shadow file through the evaluator: refused, and not a byte of it in the error.
        string thief = await NixFile("thief", "throw (builtins.readFile /etc/shadow)", readable);
        var stolen = await MemberCreateAsync("thief", Definition(thief));
        Assert.Equal(1, stolen.ExitCode);
        Assert.Contains("forbidden in restricted mode", stolen.Stdout + stolen.Stderr);
        Assert.DoesNotContain(shadowLine, stolen.Stdout + stolen.Stderr);
        Assert.Empty(ExtractShadowLike(stolen.Stdout + stolen.Stderr));

        // A file the member cannot read is not read for it by root.
        string secret = await NixFile("secret", "derivation { name = \"secret\"; system = builtins.currentSystem; builder = \"/bin/sh\"; }", (UnixFileMode)0b110_000_000);
        var unreadable = await MemberCreateAsync("secret", Definition(secret));
        Assert.Equal(4, unreadable.ExitCode); // the job fails with AccessDenied: permission denied
        Assert.Contains("cannot read " + secret, unreadable.Stdout + unreadable.Stderr);

        // The repository's example reads /usr/bin and a file beside it: fine for root, not for a member's file.
        var example = await MemberCreateAsync("example", DaemonUnderTest.NixDefinition("example"));
        Assert.Equal(1, example.ExitCode);
        Assert.Contains("is evaluated alone, from a copy, in restricted mode", example.Stderr);
        using var client = await _daemon.ConnectAsync();
        var rootBuild = await client.RunJobAsync(c => c.CreateContainerAsync("example", DaemonUnderTest.NixDefinition("example")));
        Assert.True(rootBuild.Succeeded, rootBuild.Message);

        // A self-contained file the member can read builds.
        string own = await NixFile("own", """
            derivation {
              name = "member-system";
              system = builtins.currentSystem;
              builder = "/bin/sh";
              args = [ "-c" "/bin/mkdir $out && printf '#!/bin/sh\\n' > $out/init && /bin/chmod +x $out/init" ];
            }
            """, readable);
        var built = await MemberCreateAsync("own", Definition(own));
        Assert.True(built.ExitCode == 0, built.ToString());
        Assert.Empty(Directory.Exists(Path.Combine(_daemon.StateDir, "eval")) ? Directory.EnumerateFileSystemEntries(Path.Combine(_daemon.StateDir, "eval")) : []);
    }

    [Fact]
    public async Task A_members_import_holds_every_generation_to_what_a_member_may_ask_not_only_the_current()
    {
        string system = await Systems.BuildAsync("confined");
        using var client = await _daemon.ConnectAsync();
        // Root's generation 1 binds /etc (root may); generation 2, the current one, binds nothing.
        Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync("layered", $"system: {{ path: {system} }}\n{Mounts("/etc")}"))).Succeeded);
        string second = await Systems.BuildAsync("confined-2");
        Assert.True((await client.RunJobAsync(c => c.UpdateContainerAsync("layered", $"system: {{ path: {second} }}\n"))).Succeeded);
        string archive = Path.Combine(_dir, "layered.ctdx");
        await Checked.CliAsync(_daemon, "export", "layered", archive, "--all-generations");
        File.SetUnixFileMode(archive, (UnixFileMode)0b110_100_100);

        // The member would get /etc back with one rollback: refused, naming that generation.
        var (exit, stdout, stderr) = await Programs.Run(TestUsers.As(TestUsers.Admin)[0],
            [.. TestUsers.As(TestUsers.Admin)[1..], Repo.Cli, "--bus", _bus.Address, "import", archive, "--name", "member-copy"]);
        Assert.True(exit == 4, $"exit {exit}\n{stdout}\n{stderr}");
        Assert.Contains("generation 1 of the archive: ", stderr);
        Assert.Contains("is not under bindSourceRoots", stderr);
        Assert.DoesNotContain(await client.ListContainersAsync(), c => c.Name == "member-copy");
        // Root may import it as it is.
        await Checked.CliAsync(_daemon, "import", archive, "--name", "root-copy");
    }

    /// <summary>Lines shaped like /etc/shadow's (name:$hash:…).</summary>
    private static string ExtractShadowLike(string text) =>
        string.Join("\n", text.Split('\n').Where(l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^[a-z_][a-z0-9_-]*:[^:]*:[0-9]*:[0-9]*:")));
}
