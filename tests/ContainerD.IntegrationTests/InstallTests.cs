using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using ContainerD.IntegrationTests.Harness;

namespace ContainerD.IntegrationTests;

/// <summary>
/// ContainerD as a system service: the unit, tmpfiles and sysusers entries, the D-Bus policy and
/// activation file, install.sh into a staging root and back out, and the NixOS module's files.
/// </summary>
public sealed partial class InstallTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ctd-install-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string RepoFile(string path) => Path.Combine(Repo.Root, path);

    [Fact]
    public async Task The_unit_passes_systemd_analyze_verify()
    {
        // As install.sh does: ExecStart names where the daemon is installed (here: the published one).
        string unit = Path.Combine(_dir, "containerctld.service");
        string text = await File.ReadAllTextAsync(RepoFile("systemd/containerctld.service"));
        await File.WriteAllTextAsync(unit, text.Replace("/usr/local/lib/containerctld/containerctld", Repo.PublishedDaemon));

        var verify = await Programs.Run("systemd-analyze", "verify", unit);
        Assert.True(verify.ExitCode == 0 && verify.Stderr.Trim().Length == 0, $"{verify.ExitCode}: {verify.Stderr}");
        Assert.Contains("Type=notify", text);
        Assert.Contains("KillMode=process", text);
        Assert.Contains("Restart=on-failure", text);
        // systemctl reload (what the NixOS module triggers when a definition changes) is SIGHUP.
        Assert.Contains("ExecReload=/bin/kill -HUP $MAINPID", text);
    }

    [Fact]
    public async Task Tmpfiles_and_sysusers_entries_make_the_dirs_and_the_group()
    {
        var tmpfiles = await Programs.Run("systemd-tmpfiles", "--create", "--root=" + _dir, RepoFile("systemd/containerctld.tmpfiles"));
        Assert.True(tmpfiles.ExitCode == 0, tmpfiles.Stderr);
        Assert.Equal((UnixFileMode)0b111_001_001, File.GetUnixFileMode(Path.Combine(_dir, "var/lib/containerctld")));
        Assert.Equal((UnixFileMode)0b111_000_000, File.GetUnixFileMode(Path.Combine(_dir, "run/containerctld")));
        Assert.True(Directory.Exists(Path.Combine(_dir, "etc/containerctld/containers")));

        var sysusers = await Programs.Run("systemd-sysusers", "--root=" + _dir, RepoFile("systemd/containerctld.sysusers"));
        Assert.True(sysusers.ExitCode == 0, sysusers.Stderr);
        Assert.Matches("(?m)^containerctl:x:[0-9]+:", await File.ReadAllTextAsync(Path.Combine(_dir, "etc/group")));
    }

    [Fact]
    public async Task The_metrics_timer_and_service_pass_systemd_analyze_verify()
    {
        // As install.sh does: ExecStart names where the CLI is installed (here: the published one).
        string service = Path.Combine(_dir, "containerctld-metrics.service"), timer = Path.Combine(_dir, "containerctld-metrics.timer");
        string text = await File.ReadAllTextAsync(RepoFile("systemd/containerctld-metrics.service"));
        await File.WriteAllTextAsync(service, text.Replace("/usr/local/bin/containerctl ", Repo.Cli + " ", StringComparison.Ordinal));
        File.Copy(RepoFile("systemd/containerctld-metrics.timer"), timer);

        var verify = await Programs.Run("systemd-analyze", "verify", "--man=no", service, timer);
        Assert.True(verify.ExitCode == 0 && verify.Stderr.Trim().Length == 0, $"{verify.ExitCode}: {verify.Stderr}");
        Assert.Contains("Type=oneshot", text);
        Assert.Contains("ReadWritePaths=-/var/lib/prometheus/node-exporter", text);
        Assert.Contains("Environment=TEXTFILE_DIR=/var/lib/prometheus/node-exporter", text);
        string timerText = await File.ReadAllTextAsync(timer);
        Assert.Contains("OnUnitActiveSec=15s", timerText);
        Assert.Contains("WantedBy=timers.target", timerText);
    }

    [Fact]
    public async Task A_real_dbus_daemon_loads_the_policy_and_can_activate_the_service()
    {
        string services = Path.Combine(_dir, "system-services");
        Directory.CreateDirectory(services);
        File.Copy(RepoFile("systemd/io.containerctl.ContainerD1.service"), Path.Combine(services, "io.containerctl.ContainerD1.service"));
        string config = Path.Combine(_dir, "bus.conf");
        await File.WriteAllTextAsync(config, $"""
            <busconfig>
              <type>custom</type>
              <listen>unix:path={_dir}/bus</listen>
              <auth>EXTERNAL</auth>
              <servicedir>{services}</servicedir>
              <policy context="default">
                <allow user="*"/>
                <allow own="*"/>
                <allow send_destination="*" eavesdrop="true"/>
                <allow eavesdrop="true"/>
              </policy>
              <include>{RepoFile("systemd/io.containerctl.ContainerD1.conf")}</include>
            </busconfig>
            """);
        using var bus = PrivateBus.Start(config);
        var names = await Programs.Run("busctl", "--address=" + bus.Address, "call",
            "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "ListActivatableNames");
        Assert.True(names.ExitCode == 0, names.Stderr);
        Assert.Contains("\"io.containerctl.ContainerD1\"", names.Stdout);
    }

    [Fact]
    public async Task Install_sh_installs_every_file_into_a_staging_root_and_uninstall_removes_them()
    {
        string published = Path.Combine(_dir, "published"), root = Path.Combine(_dir, "root");
        Directory.CreateDirectory(published);
        File.CreateSymbolicLink(Path.Combine(published, "daemon"), Path.GetDirectoryName(Repo.PublishedDaemon)!);
        File.CreateSymbolicLink(Path.Combine(published, "cli"), Path.GetDirectoryName(Repo.Cli)!);

        var install = await Programs.Run(RepoFile("install.sh"), "--destdir", root, "--from", published);
        Assert.True(install.ExitCode == 0, install.Stdout + install.Stderr);
        string[] expected =
        [
            "usr/local/bin/containerctl", "usr/local/lib/containerctld/containerctld", "usr/local/lib/containerctld/libMono.Unix.so",
            "etc/systemd/system/containerctld.service", "etc/systemd/system/containerctld-metrics.service",
            "etc/systemd/system/containerctld-metrics.timer", "usr/share/dbus-1/system.d/io.containerctl.ContainerD1.conf",
            "usr/share/dbus-1/system-services/io.containerctl.ContainerD1.service", "usr/lib/tmpfiles.d/containerctld.conf",
            "usr/lib/sysusers.d/containerctld.conf", "usr/share/bash-completion/completions/containerctl", "etc/containerctld/config.yaml",
            "usr/share/cockpit/containerctl/manifest.json", "usr/share/cockpit/containerctl/index.html", "usr/share/cockpit/containerctl/index.js",
        ];
        foreach (string file in expected)
        {
            Assert.True(File.Exists(Path.Combine(root, file)), $"{file} is not installed");
        }
        string manifest = Path.Combine(root, "usr/local/lib/containerctld/install-manifest");
        foreach (string line in await File.ReadAllLinesAsync(manifest))
        {
            Assert.True(Path.Exists(root + line), $"{line} is in the manifest but not installed");
        }
        string unit = await File.ReadAllTextAsync(Path.Combine(root, "etc/systemd/system/containerctld.service"));
        Assert.Contains("ExecStart=/usr/local/lib/containerctld/containerctld --config /etc/containerctld/config.yaml", unit);
        Assert.Contains("ExecStart=/usr/local/bin/containerctl --bus system metrics --output ${TEXTFILE_DIR}/containerctld.prom",
            await File.ReadAllTextAsync(Path.Combine(root, "etc/systemd/system/containerctld-metrics.service")));
        var help = await Programs.Run(Path.Combine(root, "usr/local/bin/containerctl"), "--help");
        Assert.True(help.ExitCode == 0, help.Stderr);

        // The admin's config survives a reinstall untouched.
        string config = Path.Combine(root, "etc/containerctld/config.yaml");
        await File.WriteAllTextAsync(config, "pruneDeclarative: true\n");
        Assert.Equal(0, (await Programs.Run(RepoFile("install.sh"), "--destdir", root, "--from", published)).ExitCode);
        Assert.Equal("pruneDeclarative: true\n", await File.ReadAllTextAsync(config));

        var uninstall = await Programs.Run(RepoFile("install.sh"), "--uninstall", "--destdir", root);
        Assert.True(uninstall.ExitCode == 0, uninstall.Stderr);
        // A staging root's uninstall says what it kept there, and suggests no rm -rf of this system's data.
        Assert.Contains($"uninstalled from {root}", uninstall.Stdout);
        Assert.DoesNotContain("rm -rf", uninstall.Stdout);
        string[] left = Directory.EnumerateFileSystemEntries(root, "*", SearchOption.AllDirectories)
            .Select(p => Path.GetRelativePath(root, p)).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(["etc", "etc/containerctld", "etc/containerctld/config.yaml"], left);
    }

    /// <summary>Links to the published daemon and CLI, laid out as install.sh --from takes them.</summary>
    private string Published()
    {
        string published = Path.Combine(_dir, "published");
        Directory.CreateDirectory(published);
        File.CreateSymbolicLink(Path.Combine(published, "daemon"), Path.GetDirectoryName(Repo.PublishedDaemon)!);
        File.CreateSymbolicLink(Path.Combine(published, "cli"), Path.GetDirectoryName(Repo.Cli)!);
        return published;
    }

    // The live system's directories, each an overlay in a private mount namespace while install.sh runs.
    private static readonly string[] LiveDirs = ["/etc", "/usr", "/var", "/opt", "/srv", "/root", "/home", "/run", "/nix/var"];

    /// <summary>
    /// Runs install.sh from <paramref name="cwd"/> in a private mount namespace in which every live
    /// directory is an overlay whose upper directory is below this test's dir: whatever it writes to
    /// the live system lands there, never on the host, and is returned (paths relative to /).
    /// </summary>
    private async Task<((int ExitCode, string Stdout, string Stderr) Result, string[] LiveWrites)> RunConfinedAsync(
        string cwd, IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        string confine = Path.Combine(_dir, "confine.sh"), upper = Path.Combine(_dir, "overlays");
        await File.WriteAllTextAsync(confine, """
            # confine.sh BASE CWD DIR… -- PROGRAM [ARG…]: mounts an overlay over each DIR (its upper and
            # work dirs in BASE; not over a DIR that holds BASE), then runs PROGRAM in CWD.
            set -eu
            base=$1 cwd=$2; shift 2
            while [ "$1" != -- ]; do
              d=$1; shift
              [ -d "$d" ] || continue
              case "$base/" in "$d"/*) continue ;; esac
              n=$(printf '%s' "$d" | tr / _)
              mkdir -p "$base/upper$n" "$base/work$n"
              mount -t overlay overlay -o "lowerdir=$d,upperdir=$base/upper$n,workdir=$base/work$n" "$d"
            done
            shift
            cd "$cwd"
            exec "$@"
            """);
        var result = await Programs.RunWith(environment, null, "unshare",
            ["-m", "--propagation", "private", "/bin/sh", confine, upper, cwd, .. LiveDirs, "--", RepoFile("install.sh"), .. args]);
        string[] writes = LiveDirs.Select(d => (Live: d, Upper: Path.Combine(upper, "upper" + d.Replace('/', '_'))))
            .Where(d => Directory.Exists(d.Upper))
            .SelectMany(d => Directory.EnumerateFileSystemEntries(d.Upper, "*", SearchOption.AllDirectories)
                .Select(p => Path.Combine(d.Live, Path.GetRelativePath(d.Upper, p))))
            .Order(StringComparer.Ordinal).ToArray();
        return (result, writes);
    }

    [Fact]
    public async Task Install_sh_takes_DESTDIR_and_PREFIX_from_the_environment_relative_to_the_caller_and_changes_nothing_live()
    {
        string published = Published(), caller = Path.Combine(_dir, "caller"), tmp = Path.Combine(_dir, "tmp");
        Directory.CreateDirectory(caller);
        Directory.CreateDirectory(tmp);
        // As a packager runs it: DESTDIR=stage PREFIX=/opt/ctd ./install.sh, from the build directory;
        // --from relative too. TMPDIR is watched as well: a staging install writes no temporary file.
        var environment = new Dictionary<string, string> { ["DESTDIR"] = "stage", ["PREFIX"] = "/opt/ctd", ["TMPDIR"] = tmp };
        var (install, writes) = await RunConfinedAsync(caller, environment, "--from", Path.GetRelativePath(caller, published));
        Assert.True(install.ExitCode == 0, install.Stdout + install.Stderr);
        Assert.Empty(writes);
        Assert.Empty(Directory.EnumerateFileSystemEntries(tmp));
        Assert.Contains("nothing on this system was changed", install.Stdout);

        string stage = Path.Combine(caller, "stage");
        Assert.False(Directory.Exists(Path.Combine(Repo.Root, "stage")), "DESTDIR was taken relative to the repository, not to the caller");
        foreach (string file in new[] { "opt/ctd/bin/containerctl", "opt/ctd/lib/containerctld/containerctld", "opt/ctd/lib/containerctld/install-manifest",
            "usr/lib/sysusers.d/containerctld.conf", "etc/containerctld/config.yaml" })
        {
            Assert.True(File.Exists(Path.Combine(stage, file)), $"{file} is not staged");
        }
        string unit = await File.ReadAllTextAsync(Path.Combine(stage, "etc/systemd/system/containerctld.service"));
        Assert.Contains("ExecStart=/opt/ctd/lib/containerctld/containerctld --config /etc/containerctld/config.yaml", unit);
        Assert.Contains("ExecStart=/opt/ctd/bin/containerctl --bus system metrics",
            await File.ReadAllTextAsync(Path.Combine(stage, "etc/systemd/system/containerctld-metrics.service")));
        // The manifest names the target system's paths, not the staging root's.
        Assert.All(await File.ReadAllLinesAsync(Path.Combine(stage, "opt/ctd/lib/containerctld/install-manifest")),
            line => Assert.False(line.StartsWith(caller, StringComparison.Ordinal), line));

        // --destdir over DESTDIR: the flag wins; then uninstall, from the environment again.
        var (uninstall, uninstallWrites) = await RunConfinedAsync(caller, environment, "--uninstall");
        Assert.True(uninstall.ExitCode == 0, uninstall.Stdout + uninstall.Stderr);
        Assert.Empty(uninstallWrites);
        Assert.DoesNotContain("rm -rf", uninstall.Stdout);
        Assert.Contains($"uninstalled from {stage}", uninstall.Stdout);
        Assert.Equal(["etc", "etc/containerctld", "etc/containerctld/config.yaml"],
            Directory.EnumerateFileSystemEntries(stage, "*", SearchOption.AllDirectories).Select(p => Path.GetRelativePath(stage, p)).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Install_sh_flags_win_over_the_environment()
    {
        string published = Published(), caller = Path.Combine(_dir, "caller");
        Directory.CreateDirectory(caller);
        var environment = new Dictionary<string, string> { ["DESTDIR"] = "from-env", ["PREFIX"] = "/opt/env" };
        var (install, writes) = await RunConfinedAsync(caller, environment, "--destdir", "from-flag", "--prefix", "/usr", "--from", published);
        Assert.True(install.ExitCode == 0, install.Stdout + install.Stderr);
        Assert.Empty(writes);
        Assert.True(File.Exists(Path.Combine(caller, "from-flag/usr/bin/containerctl")));
        Assert.False(Directory.Exists(Path.Combine(caller, "from-env")));
        // A package (PREFIX=/usr): its units where the distribution's are, /etc/systemd/system left to the admin.
        foreach (string unit in new[] { "containerctld.service", "containerctld-metrics.service", "containerctld-metrics.timer" })
        {
            Assert.True(File.Exists(Path.Combine(caller, "from-flag/usr/lib/systemd/system", unit)), unit);
        }
        Assert.False(Directory.Exists(Path.Combine(caller, "from-flag/etc/systemd")));
        Assert.Contains("ExecStart=/usr/lib/containerctld/containerctld ",
            await File.ReadAllTextAsync(Path.Combine(caller, "from-flag/usr/lib/systemd/system/containerctld.service")));
    }

    [Fact]
    public async Task Install_sh_without_a_destdir_installs_live_and_its_uninstall_says_how_to_remove_the_data()
    {
        // The live system here is overlays in a private mount namespace: the host stays as it was.
        string published = Published();
        var environment = new Dictionary<string, string> { ["DESTDIR"] = "", ["PREFIX"] = "" };
        var (install, writes) = await RunConfinedAsync(_dir, environment, "--from", published);
        Assert.True(install.ExitCode == 0, install.Stdout + install.Stderr);
        Assert.Contains("/usr/local/bin/containerctl", writes);
        Assert.Contains("/etc/systemd/system/containerctld.service", writes);
        Assert.Contains("/var/lib/containerctld", writes); // tmpfiles ran
        Assert.Contains("systemctl enable --now containerctld", install.Stdout);

        var (uninstall, _) = await RunConfinedAsync(_dir, environment, "--uninstall");
        Assert.True(uninstall.ExitCode == 0, uninstall.Stdout + uninstall.Stderr);
        Assert.Contains("rm -rf /var/lib/containerctld /nix/var/nix/profiles/per-container /etc/containerctld", uninstall.Stdout);
    }

    [Fact]
    public async Task Install_sh_refuses_a_prefix_that_could_break_the_unit_file()
    {
        var bad = await Programs.Run(RepoFile("install.sh"), "--prefix", "/opt/x\nExecStartPre=/bin/evil", "--destdir", Path.Combine(_dir, "root"));
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("--prefix must be an absolute path", bad.Stderr);
        Assert.False(Directory.Exists(Path.Combine(_dir, "root")));
    }

    [Fact]
    public async Task The_installed_daemon_started_as_ExecStart_says_READY_1()
    {
        string published = Path.Combine(_dir, "published"), root = Path.Combine(_dir, "root");
        Directory.CreateDirectory(published);
        File.CreateSymbolicLink(Path.Combine(published, "daemon"), Path.GetDirectoryName(Repo.PublishedDaemon)!);
        File.CreateSymbolicLink(Path.Combine(published, "cli"), Path.GetDirectoryName(Repo.Cli)!);
        Assert.Equal(0, (await Programs.Run(RepoFile("install.sh"), "--destdir", root, "--from", published)).ExitCode);
        string execStart = (await File.ReadAllLinesAsync(Path.Combine(root, "etc/systemd/system/containerctld.service")))
            .Single(l => l.StartsWith("ExecStart=", StringComparison.Ordinal))["ExecStart=".Length..].Split(' ')[0];

        await using var daemon = await DaemonUnderTest.StartAsync();
        await daemon.KillAsync();
        string socketPath = Path.Combine(daemon.Dir, "notify.sock");
        using var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(socketPath));
        await daemon.StartProcessAsync(new Dictionary<string, string> { ["NOTIFY_SOCKET"] = socketPath }, binary: root + execStart);
        var buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        int received = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
        Assert.Contains("READY=1", Encoding.UTF8.GetString(buffer, 0, received));
    }

    [Fact]
    public async Task Every_nix_file_parses()
    {
        var files = Directory.EnumerateFiles(RepoFile("nix"), "*.nix").Concat(Directory.EnumerateFiles(RepoFile("examples"), "*.nix")).ToList();
        Assert.Contains(files, f => f.EndsWith("module.nix", StringComparison.Ordinal));
        foreach (string file in files)
        {
            var parse = await Programs.Run("nix-instantiate", "--parse", file);
            Assert.True(parse.ExitCode == 0, $"{file}: {parse.Stderr}");
        }
    }

    /// <summary>
    /// On NixOS the daemon finds its tools on the PATH nix/package.nix's wrapper gives it, in front of
    /// what every NixOS service has (systemd.services.&lt;name&gt;.path's defaults): each program the
    /// daemon runs on the host must come from one of them. The programs are read from the daemon's
    /// sources (what it starts by name, and what a wrapper it starts runs after "--"), the package's
    /// PATH from package.nix evaluated with nixpkgs' lib and stand-ins for its packages.
    /// </summary>
    [Fact]
    public async Task The_nix_packages_PATH_has_every_program_the_daemon_runs()
    {
        // Which nixpkgs package has each program; a program the daemon starts that is missing here fails the test.
        static string Provider(string program) => program switch
        {
            _ when program.StartsWith("lxc-", StringComparison.Ordinal) => "lxc",
            _ when program == "nix" || program.StartsWith("nix-", StringComparison.Ordinal) => "nix",
            "cat" or "cp" or "head" => "coreutils",
            "tar" => "gnutar",
            "setpriv" or "setsid" or "unshare" => "util-linux",
            "newuidmap" or "newgidmap" => "shadow",
            "ip" => "iproute2",
            "nft" => "nftables",
            _ => throw new Xunit.Sdk.XunitException($"the daemon runs '{program}': name its nixpkgs package here, and put that on package.nix's PATH"),
        };
        string[] serviceDefaults = ["coreutils", "findutils", "gnugrep", "gnused", "systemd"];

        var programs = new[] { "src/ContainerD.Os", "src/ContainerD.Daemon" }
            .SelectMany(dir => Directory.EnumerateFiles(RepoFile(dir), "*.cs", SearchOption.AllDirectories))
            .SelectMany(file => ProgramStarted().Matches(File.ReadAllText(file)).Select(m => m.Groups["program"].Value))
            // LXC maps a container's ids through these for the daemon.
            .Append("newuidmap").Append("newgidmap")
            .ToHashSet();
        Assert.Superset(new HashSet<string> { "lxc-start", "lxc-attach", "nix-build", "nix-env", "setpriv", "head", "tar", "cp", "ip", "nft" }, programs);

        string lib = RepoFile("tests/fixtures/nixpkgs-lib/lib");
        var eval = await Programs.Run("nix-instantiate", "--eval", "--strict", "--json", "--expr", $$"""
            let
              package = import {{RepoFile("nix/package.nix")}};
              stand-ins = builtins.mapAttrs (name: _: { outPath = "/stub/${name}"; }) (builtins.functionArgs package);
            in (package (stand-ins // {
              lib = import {{lib}};
              buildDotnetModule = attrs: attrs;
              dotnetCorePackages = { sdk_10_0 = null; runtime_10_0 = null; };
            })).makeWrapperArgs
            """);
        Assert.True(eval.ExitCode == 0, eval.Stderr);
        var wrapper = JsonSerializer.Deserialize<string[]>(eval.Stdout)!;
        int path = Array.FindIndex(wrapper, a => a == "PATH");
        Assert.True(path > 0 && wrapper[path - 1] == "--prefix", string.Join(" ", wrapper));
        var onPath = wrapper[path + 2].Split(':').Select(dir => Regex.Match(dir, "^/stub/(.+)/bin$").Groups[1].Value).ToHashSet();

        Assert.All(programs.Order(), program => Assert.True(onPath.Contains(Provider(program)) || serviceDefaults.Contains(Provider(program)),
            $"the daemon runs '{program}' (nixpkgs' {Provider(program)}), which is not on package.nix's PATH ({string.Join(", ", onPath)}) nor on every NixOS service's"));
    }

    /// <summary>A program the daemon starts by name (RunAsync, ProcessStartInfo, FindOnPath, an argv list it begins), or one a wrapper it starts runs after "--".</summary>
    [GeneratedRegex("""(?:RunAsync|ProcessStartInfo|FindOnPath)\(\s*"(?<program>[a-z][a-z0-9-]*)"|"--", "(?<program>[a-z][a-z0-9-]*)"|\["(?<program>[a-z][a-z0-9-]*)", "--[a-z]""")]
    private static partial Regex ProgramStarted();

    [Fact]
    public async Task The_modules_definition_of_a_container_is_one_the_daemon_creates_and_boots()
    {
        string system = await Systems.BuildAsync("fromnix");
        // The bind mount's source is reached by the container's root, an unprivileged uid: it must traverse.
        File.SetUnixFileMode(_dir, (UnixFileMode)0b111_001_001);
        // The module's container options, as NixOS would have them (unset options are null).
        string options = $$"""
            { autostart = false; idmap = { size = 131072; base = null; };
              bindMounts = [ { host = "{{_dir}}/shared"; container = "/shared"; readOnly = true; create = true; idmapped = false; } ];
              network = { mode = "none"; }; limits = { memory = null; cpus = null; pids = 512; };
              stopTimeout = "10s"; activation = "restart"; }
            """;
        var eval = await Programs.Run("nix-instantiate", "--eval", "--strict", "--json", "--expr",
            $"(import {RepoFile("nix/lib.nix")}).definitionText \"fromnix\" {options} \"{system}\"");
        Assert.True(eval.ExitCode == 0, eval.Stderr);
        string yaml = JsonSerializer.Deserialize<string>(eval.Stdout)!;
        using (var definition = JsonDocument.Parse(yaml))
        {
            Assert.Equal(system, definition.RootElement.GetProperty("system").GetProperty("path").GetString());
            Assert.False(definition.RootElement.GetProperty("idmap").TryGetProperty("base", out _)); // null options are left out
            Assert.Equal(512, definition.RootElement.GetProperty("limits").GetProperty("pids").GetInt32());
        }

        // What the module writes to /etc/containerctld/containers is what the daemon applies at start.
        await using var daemon = await DaemonUnderTest.StartAsync();
        await daemon.KillAsync();
        await File.WriteAllTextAsync(Path.Combine(daemon.DefinitionsDir, "fromnix.yaml"), yaml);
        await daemon.StartProcessAsync();
        using var client = await daemon.ConnectAsync();
        await Eventually.TrueAsync(async () => (await client.ListContainersAsync()).Any(c => c.Name == "fromnix"), "the declared container", TimeSpan.FromSeconds(30));
        var container = (await client.ListContainersAsync()).Single();
        Assert.Equal(131072u, container.UidSize);
        var start = await client.RunJobAsync(c => c.StartContainerAsync("fromnix"));
        Assert.True(start.Succeeded, start.Message);
        // The bind mount's source was made (create: true), read-only inside: owned by host root.
        Assert.True(Directory.Exists(Path.Combine(_dir, "shared")));
        var status = await daemon.CliAsync("status", "fromnix");
        Assert.Contains("State: running", status.Stdout);
        Assert.Contains("Definition: declarative", status.Stdout);
    }
}
