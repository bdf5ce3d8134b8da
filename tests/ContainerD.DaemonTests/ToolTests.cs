using ContainerD.Domain;
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
        Assert.Equal(["-P", _dir.Path, "-n", "web", "-d", "-o", lxc.LogPath("web"), "-l", "WARN"], call.Args);
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
        var calls = runner.Calls.ToArray();
        Assert.Equal(["/etc/web.nix", "--out-link", "/state/web/build-result", "-A", "web", "--argstr", "variant", "2"], calls[0].Args);
        Assert.Equal("nix-store", calls[1].Program);
        Assert.Equal(["--check-validity", system], calls[1].Args);
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
        var noInit = await Assert.ThrowsAsync<ContainerDException>(() => new NixTool(_dir.Path, new ScriptedRunner()).CheckSystemAsync(bare, CancellationToken.None));
        Assert.Equal(ErrorKind.InvalidDefinition, noInit.Kind);
    }
}
