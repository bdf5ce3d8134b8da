using ContainerD.Domain;
using ContainerD.Domain.Configuration;
using ContainerD.Domain.Definitions;
using ContainerD.Os.Lxc;
using ContainerD.Os.Nix;

namespace ContainerD.DaemonTests;

/// <summary>The LXC and Nix adapters driven by scripted tool output: the argv they run and how they read the answers.</summary>
public sealed class ToolTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task lxc_start_hands_the_container_to_its_own_monitor_and_a_failure_says_why()
    {
        var runner = new ScriptedRunner((_, _) => ScriptedRunner.Output(1, stderr: "lxc-start: web: failed to mount rootfs\n"));
        var lxc = new LxcTool(_dir.Path, runner);
        var error = await Assert.ThrowsAsync<ContainerDException>(() => lxc.StartAsync("web"));
        Assert.Equal(ErrorKind.StartFailed, error.Kind);
        Assert.Contains("container 'web' did not start: lxc-start: web: failed to mount rootfs", error.Message);
        var call = Assert.Single(runner.Calls);
        Assert.Equal(("lxc-start", true), (call.Program, call.OutlivesDaemon));
        // The daemon has made the mounts: the config's mount hooks are for a hand-run lxc-start.
        Assert.Equal(["-P", _dir.Path, "-n", "web", "-d", "-o", lxc.LogPath("web"), "-l", "WARN",
            "-s", "lxc.hook.pre-start=", "-s", "lxc.hook.start-host="], call.Args);
    }

    [Fact]
    public async Task A_failed_start_says_what_lxc_logged_as_the_cause_not_its_generic_advice()
    {
        // What LXC 5 prints and logs (-o) when the container's init cannot be executed (a system gone
        // from the store): its stderr is only the tool's advice; the cause is in the log, after the
        // lines of earlier starts.
        const string advice = """
            lxc-start: web: ../src/lxc/lxccontainer.c: wait_on_daemonized_start: 878 Received container state "ABORTING" instead of "RUNNING"
            lxc-start: web: ../src/lxc/tools/lxc_start.c: main: 306 The container failed to start
            lxc-start: web: ../src/lxc/tools/lxc_start.c: main: 309 To get more details, run the container in foreground mode
            lxc-start: web: ../src/lxc/tools/lxc_start.c: main: 311 Additional information can be obtained by setting the --logfile and --logpriority options

            """;
        const string logged = """
            lxc-start web 20261201173943.879 ERROR    start - ../src/lxc/start.c:start:2197 - No such file or directory - Failed to exec "/nix/var/nix/profiles/system/init"
            lxc-start web 20261201173943.879 ERROR    sync - ../src/lxc/sync.c:sync_wait:34 - An error occurred in another process (expected sequence number 7)
            lxc-start web 20261201173943.879 ERROR    lxccontainer - ../src/lxc/lxccontainer.c:wait_on_daemonized_start:878 - Received container state "ABORTING" instead of "RUNNING"
            lxc-start web 20261201173943.879 ERROR    lxc_start - ../src/lxc/tools/lxc_start.c:main:306 - The container failed to start
            lxc-start web 20261201173943.879 ERROR    lxc_start - ../src/lxc/tools/lxc_start.c:main:309 - To get more details, run the container in foreground mode
            lxc-start web 20261201173943.879 ERROR    lxc_start - ../src/lxc/tools/lxc_start.c:main:311 - Additional information can be obtained by setting the --logfile and --logpriority options
            lxc-start web 20261201173943.879 ERROR    start - ../src/lxc/start.c:__lxc_start:2107 - Failed to spawn container "web"

            """;
        var lxc = new LxcTool(_dir.Path, new ScriptedRunner((_, args) =>
        {
            File.AppendAllText(args.SkipWhile(a => a != "-o").ElementAt(1), logged);
            return ScriptedRunner.Output(1, stderr: advice);
        }));
        Directory.CreateDirectory(Path.GetDirectoryName(lxc.LogPath("web"))!);
        File.WriteAllText(lxc.LogPath("web"), "lxc-start web 20261201170000.000 ERROR    cgfsng - ../src/lxc/cgroups/cgfsng.c:cgfsng_setup_limits_legacy:3165 - Invalid argument - Failed to set \"cpu.cfs_quota_us\" to \"500\"\n");

        var error = await Assert.ThrowsAsync<ContainerDException>(() => lxc.StartAsync("web"));

        Assert.Equal(ErrorKind.StartFailed, error.Kind);
        Assert.StartsWith("container 'web' did not start: No such file or directory - Failed to exec \"/nix/var/nix/profiles/system/init\"", error.Message);
        Assert.DoesNotContain("foreground mode", error.Message);
        Assert.DoesNotContain("cfs_quota_us", error.Message); // an earlier start's
    }

    [Theory]
    [InlineData(0, false)]
    [InlineData(2, false)]
    [InlineData(1, true)]
    public async Task A_forced_stop_kills_at_once_and_not_running_is_stopped(int exitCode, bool fails)
    {
        var runner = new ScriptedRunner((_, _) => ScriptedRunner.Output(exitCode, stderr: "no"));
        var lxc = new LxcTool(_dir.Path, runner);
        if (fails)
        {
            Assert.Equal(ErrorKind.StopFailed, (await Assert.ThrowsAsync<ContainerDException>(() => lxc.StopAsync("web", TimeSpan.FromSeconds(5), force: true))).Kind);
        }
        else
        {
            Assert.False(await lxc.StopAsync("web", TimeSpan.FromSeconds(5), force: true));
        }
        Assert.Equal(["-P", _dir.Path, "-n", "web", "-k"], Assert.Single(runner.Calls).Args);
    }

    [Fact]
    public async Task A_clean_stop_asks_with_the_timeout_and_never_kills()
    {
        var runner = new ScriptedRunner();
        Assert.False(await new LxcTool(_dir.Path, runner).StopAsync("web", TimeSpan.FromSeconds(2.5), force: false));
        Assert.Equal(["-P", _dir.Path, "-n", "web", "-t", "3", "--nokill"], Assert.Single(runner.Calls).Args);
    }

    [Fact]
    public async Task nix_build_gets_the_definitions_args_and_its_last_line_is_the_system()
    {
        string system = Path.Combine(_dir.Path, "abc-system");
        Directory.CreateDirectory(system);
        File.WriteAllText(Path.Combine(system, "init"), "");
        var runner = new ScriptedRunner((program, _) => program == "nix-build"
            ? ScriptedRunner.Output(0, stdout: $"\n{system}\n", stderr: "building '/nix/store/x.drv'...\n")
            : ScriptedRunner.Output(0));
        var lines = new List<string>();
        var nix = new NixTool(_dir.Path, runner);
        var expression = new NixExpressionSystem("/etc/web.nix", "web", new Dictionary<string, string> { ["variant"] = "2" });

        Assert.Equal(system, await nix.BuildAsync(expression, "/state/web/build-result", lines.Add, CancellationToken.None));
        // nix-build alone: that the output is valid, nix-build made sure of (and the profile asks Nix again when it takes it).
        var call = Assert.Single(runner.Calls);
        Assert.Equal(["/etc/web.nix", "--out-link", "/state/web/build-result", "-A", "web", "--argstr", "variant", "2"], call.Args);
        Assert.Contains("building '/nix/store/x.drv'...", lines);
    }

    [Fact]
    public async Task A_failed_build_is_BuildFailed_with_the_tail_of_its_log_and_a_system_without_init_is_refused()
    {
        var failing = new NixTool(_dir.Path, new ScriptedRunner((_, _) => ScriptedRunner.Output(1, stderr: "error: undefined variable 'pkgs'\n")));
        var expression = new NixExpressionSystem("/etc/web.nix", null, new Dictionary<string, string>());
        var error = await Assert.ThrowsAsync<ContainerDException>(() => failing.BuildAsync(expression, "/out", _ => { }, CancellationToken.None));
        Assert.Equal((ErrorKind.BuildFailed, "nix-build /etc/web.nix failed (exit 1): error: undefined variable 'pkgs'"), (error.Kind, error.Message));

        string bare = Path.Combine(_dir.Path, "bare-system");
        Directory.CreateDirectory(bare);
        var noInit = Assert.Throws<ContainerDException>(() => new NixTool(_dir.Path, new ScriptedRunner()).CheckSystem(bare));
        Assert.Equal(ErrorKind.InvalidDefinition, noInit.Kind);
    }

    private static readonly BinaryCaches Caches = new(["file:///srv/cache", "https://cache.example.org"],
        ["cache-1:M2jR2XiR9mdS2vLL5Tu0hT4jYZ3F6wGli0Zdiu1ZX60=", "other-2:ZuS0ZhFq9DEhxeCWNzlpnDKHlTBCK+n4trbkAYb67k0="]);

    [Fact]
    public async Task A_missing_system_path_is_realised_from_the_configured_caches_with_signatures_required()
    {
        string system = Path.Combine(_dir.Path, "abc-system");
        bool fetched = false;
        var runner = new ScriptedRunner((program, args) =>
        {
            if (args[0] == "--realise")
            {
                fetched = true;
                Directory.CreateDirectory(system);
                File.WriteAllText(Path.Combine(system, "init"), "");
                return ScriptedRunner.Output(0, stderr: $"copying path '{system}' from 'file:///srv/cache'...\n");
            }
            return ScriptedRunner.Output(fetched ? 0 : 1, stderr: fetched ? "" : $"error: path '{system}' is not valid\n");
        });
        var lines = new List<string>();
        var nix = new NixTool(_dir.Path, runner, Caches);
        Assert.True(nix.CanSubstitute);

        Assert.Equal(system, await nix.RealiseSystemAsync(system, "/state/web/build-result", lines.Add, CancellationToken.None));
        var realise = runner.Calls.Single(c => c.Args[0] == "--realise");
        Assert.Equal(["--realise", system, "--add-root", "/state/web/build-result", "--option", "substitute", "true",
            "--option", "substituters", "file:///srv/cache https://cache.example.org",
            "--option", "trusted-public-keys", string.Join(' ', Caches.TrustedPublicKeys),
            "--option", "require-sigs", "true"], realise.Args);
        Assert.Contains($"{system} is not in the store: fetching it and what it needs from file:///srv/cache https://cache.example.org, signed by one of cache-1 other-2", lines);
        Assert.Contains($"copying path '{system}' from 'file:///srv/cache'...", lines);
    }

    [Fact]
    public async Task A_path_in_the_store_or_a_daemon_without_caches_fetches_nothing()
    {
        string system = Path.Combine(_dir.Path, "abc-system");
        Directory.CreateDirectory(system);
        File.WriteAllText(Path.Combine(system, "init"), "");
        var present = new ScriptedRunner();
        Assert.Equal(system, await new NixTool(_dir.Path, present, Caches).RealiseSystemAsync(system, "/out", _ => { }, CancellationToken.None));
        Assert.DoesNotContain(present.Calls, c => c.Args[0] == "--realise");

        // Without caches there is nothing to fetch from: no Nix process at all. Whether Nix knows the
        // path, the profile asks Nix when it takes it (SetProfileAsync, ProfileLinkTests).
        var absent = new ScriptedRunner((_, _) => ScriptedRunner.Output(1, stderr: "error: path is not valid\n"));
        var noCaches = new NixTool(_dir.Path, absent);
        Assert.False(noCaches.CanSubstitute);
        Assert.Equal(system, await noCaches.RealiseSystemAsync(system, "/out", _ => { }, CancellationToken.None));
        Assert.Empty(absent.Calls);
    }

    [Theory]
    [InlineData("warning: the substitute for '@DEP@' from 'file:///srv/cache' is not signed by any of the keys in 'trusted-public-keys'\nerror: build of '@SYS@' failed\n",
        "system path @SYS@ cannot be fetched: @DEP@ (from file:///srv/cache) is not signed by any of the trustedPublicKeys; sign it with the cache's key (nix store sign, or nix copy --to 'file://…?secret-key=…') or add the key that signed it")]
    [InlineData("don't know how to build these paths:\n  @SYS@\nerror: build of '@SYS@' failed\n",
        "system path @SYS@ cannot be fetched: no substituter (file:///srv/cache https://cache.example.org) has @SYS@; copy it there (nix copy --to …) or build the system")]
    [InlineData("error: cannot open connection to remote store 'https://cache.example.org'\n",
        "system path @SYS@ cannot be fetched from file:///srv/cache https://cache.example.org (nix-store exit 1): error: cannot open connection to remote store 'https://cache.example.org'")]
    public async Task A_path_that_cannot_be_fetched_fails_naming_the_path_and_why(string stderr, string message)
    {
        string system = Path.Combine(_dir.Path, "abc-system"), dependency = Path.Combine(_dir.Path, "def-lib");
        string Fill(string text) => text.Replace("@SYS@", system, StringComparison.Ordinal).Replace("@DEP@", dependency, StringComparison.Ordinal);
        var runner = new ScriptedRunner((_, _) => ScriptedRunner.Output(1, stderr: Fill(stderr)));
        var error = await Assert.ThrowsAsync<ContainerDException>(() => new NixTool(_dir.Path, runner, Caches).RealiseSystemAsync(system, "/out", _ => { }, CancellationToken.None));
        Assert.Equal((ErrorKind.InvalidDefinition, Fill(message)), (error.Kind, error.Message));
    }
}
