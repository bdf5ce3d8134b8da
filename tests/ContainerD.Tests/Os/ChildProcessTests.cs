using ContainerD.Os;
using ContainerD.Os.Processes;

namespace ContainerD.Tests.Os;

/// <summary>The daemon's children die with it; orphans of a dead daemon are found by its paths; one daemon per state dir.</summary>
public sealed class ChildProcessTests
{
    [Fact]
    public async Task A_command_gets_a_parent_death_signal_and_lxc_start_does_not()
    {
        var child = await CommandRunner.RunAsync("setpriv", ["--dump"]);
        Assert.Contains("Parent death signal: KILL", child.StdoutText);
        var container = await CommandRunner.RunAsync("setpriv", ["--dump"], outlivesDaemon: true);
        Assert.Contains("Parent death signal: [none]", container.StdoutText);
    }

    [Fact]
    public async Task A_child_outlives_the_thread_that_asked_for_it()
    {
        // PR_SET_PDEATHSIG fires when the forking *thread* exits: a child started from a thread that
        // ends at once must still run to its end (exit 0), not be killed (137).
        Task<CommandOutput>? run = null;
        var thread = new Thread(() => run = CommandRunner.RunAsync("sleep", ["1"]));
        thread.Start();
        thread.Join();
        Assert.Equal(0, (await run!).ExitCode);
    }

    [Fact]
    public void Orphans_are_the_daemons_tools_that_name_its_paths_and_never_a_container()
    {
        var processes = new OrphanReaper.ProcessInfo[]
        {
            new(10, ["nix-build", "/etc/web.nix", "--out-link", "/var/lib/ctd/containers/web/build-result"]),
            new(11, ["lxc-monitor", "-P", "/var/lib/ctd/lxc", "-n", ".*"]),
            new(12, ["/usr/bin/nix-env", "-p", "/nix/var/nix/profiles/per-container/web/system", "--set", "/nix/store/x"]),
            new(20, ["[lxc monitor] /var/lib/ctd/lxc web"]),
            new(21, ["lxc-start", "-P", "/var/lib/ctd/lxc", "-n", "web", "-d"]),
            new(22, ["nix-build", "/other/web.nix", "--out-link", "/var/lib/other/containers/web/build-result"]),
            new(23, ["lxc-monitor", "-P", "/var/lib/ctd-two/lxc", "-n", ".*"]),
            new(24, ["sleep", "/var/lib/ctd/containers/web"]),
            new(99, ["nix-build", "/var/lib/ctd/x"]),
        };
        var orphans = OrphanReaper.Orphans(processes, ["/var/lib/ctd", "/nix/var/nix/profiles/per-container/"], self: 99);
        Assert.Equal([10, 11, 12], orphans.Select(o => o.Pid));
    }

    [Fact]
    public void A_second_lock_on_a_state_dir_is_refused_with_the_holders_pid_until_the_first_is_released()
    {
        string dir = Path.Combine(Path.GetTempPath(), "statelock-" + Guid.NewGuid().ToString("N"));
        try
        {
            using (StateDirLock.Acquire(dir))
            {
                var refused = Assert.Throws<ContainerD.Domain.ContainerDException>(() => StateDirLock.Acquire(dir));
                Assert.Contains($"another containerctld (pid {Environment.ProcessId}) uses the state dir {dir}", refused.Message);
            }
            using (StateDirLock.Acquire(dir))
            {
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
