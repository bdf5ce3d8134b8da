using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using ContainerD.IntegrationTests.Harness;

namespace ContainerD.IntegrationTests;

/// <summary>
/// containerctl -H: this machine's CLI drives the daemon of a second host (SecondHost: its own
/// store, /etc, bus and daemon) through ssh and systemd-stdio-bridge, as machinectl -H does.
/// </summary>
public sealed class RemoteTests
{
    [Fact]
    public async Task Every_command_drives_the_other_hosts_daemon_through_ssh()
    {
        await using var host = await SecondHost.StartAsync();
        string file = Path.Combine(host.Dir, "far.yaml");
        await File.WriteAllTextAsync(file, DaemonUnderTest.NixDefinition("far-web"));

        var empty = await host.CliAsync("list", "--names");
        Assert.True(empty.ExitCode == 0, $"{empty}\n{host.SshdLog}");
        Assert.Equal("", empty.Stdout);

        // A job over ssh: its log streams back, its end is awaited, and it happened there.
        var create = await host.CliAsync("create", "far-web", "-f", file, "--start");
        Assert.True(create.ExitCode == 0, create.ToString());
        Assert.Contains("nix-build ", create.Stdout);
        Assert.Contains("far-web: created", create.Stdout);
        Assert.Contains("far-web: started", create.Stdout);
        using var there = await host.Daemon.ConnectAsync();
        Assert.Equal(("far-web", "running"), ((await there.ListContainersAsync())[0].Name, (await there.ListContainersAsync())[0].State));
        string system = (await there.GetPropertyAsync(await there.GetContainerAsync("far-web"), "io.containerctl.ContainerD1.Container", "SystemPath")).GetString();
        Assert.Single(await host.ValidPathsAsync([system]));
        Assert.NotEqual(0, (await Programs.Run("nix-store", "--check-validity", system)).ExitCode);

        var list = await host.CliAsync("list");
        Assert.Matches(new Regex(@"^far-web\s+running\s+\d+\s+\d+-\d+\s+1\s+no$", RegexOptions.Multiline), list.Stdout);
        var status = await host.CliAsync("status", "far-web");
        Assert.Contains("State: running", status.Stdout);
        Assert.Contains(system, status.Stdout);

        // run: argv and output bytes travel in the D-Bus messages, no shell on either host in between.
        var run = await host.CliAsync("run", "far-web", "--", "echo", "a b", "$HOME", "; touch /far-pwned", "'q'");
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal("a b $HOME ; touch /far-pwned 'q'\n", run.Stdout);
        var exit = await host.CliAsync("run", "far-web", "--", "sh", "-c", "hostname; echo oops >&2; exit 7");
        Assert.Equal(7, exit.ExitCode);
        Assert.Equal("far-web\n", exit.Stdout);
        Assert.Equal("oops\n", exit.Stderr);

        // logs needs the daemon's fd: the remote host's own containerctl reads it there.
        CliResult logs = null!;
        await Eventually.TrueAsync(async () => (logs = await host.CliAsync("logs", "far-web")).ExitCode != 0 || logs.Stdout.Contains("up as uid"),
            "the init's greeting in the remote console log", TimeSpan.FromSeconds(20));
        Assert.True(logs.ExitCode == 0, logs.ToString());
        Assert.Contains("init: system far-web variant 1 up", logs.Stdout);

        Assert.True((await host.CliAsync("jobs")).ExitCode == 0);
        var stop = await host.CliAsync("stop", "far-web");
        Assert.True(stop.ExitCode == 0, stop.ToString());
        Assert.Equal("stopped", (await there.ListContainersAsync())[0].State);
        var destroy = await host.CliAsync("destroy", "far-web", "--yes");
        Assert.True(destroy.ExitCode == 0, destroy.ToString());
        Assert.Empty(await there.ListContainersAsync());
        var missing = await host.CliAsync("status", "far-web");
        Assert.Equal(3, missing.ExitCode);
    }

    [Fact]
    public async Task Shell_on_another_host_is_its_containerctl_on_a_terminal_through_ssh()
    {
        await using var host = await SecondHost.StartAsync();
        using var there = await host.Daemon.ConnectAsync();
        Assert.True((await there.RunJobAsync(c => c.CreateContainerAsync("far-shell", DaemonUnderTest.NixDefinition("far-shell")))).Succeeded);
        Assert.True((await there.RunJobAsync(c => c.StartContainerAsync("far-shell"))).Succeeded);

        await using var terminal = await TmuxTerminal.StartAsync(Repo.Cli, "-H", host.Spec(), "--ssh-config", host.SshConfig,
            "--bus", host.Daemon.Bus.Address, "shell", "far-shell");
        await terminal.WaitForScreenAsync(s => s.Contains("Connected to far-shell"), "the remote shell's greeting");
        await terminal.TypeLineAsync("echo sum=$((6*7)) host=$(hostname); tty");
        string screen = await terminal.WaitForScreenAsync(s => s.Contains("sum=42"), "the command's output");
        Assert.Contains("sum=42 host=far-shell", screen);
        await terminal.WaitForScreenAsync(s => s.Contains("/dev/pts/"), "a terminal inside");
        await terminal.TypeLineAsync("exit 0");
        await terminal.WaitForScreenAsync(s => s.Contains("Disconnected from far-shell"), "the end of the session");
        Assert.Equal(0, await terminal.WaitForExitAsync("containerctl exiting"));
    }

    [Fact]
    public async Task Export_and_import_on_another_host_stream_the_archive_through_ssh_to_and_from_a_file_here()
    {
        await using var host = await SecondHost.StartAsync();
        using var there = await host.Daemon.ConnectAsync();
        Assert.True((await there.RunJobAsync(c => c.CreateContainerAsync("far-exp", DaemonUnderTest.NixDefinition("far-exp")))).Succeeded);
        Assert.True((await there.RunJobAsync(c => c.StartContainerAsync("far-exp"))).Succeeded);
        var marked = await host.CliAsync("run", "far-exp", "--", "sh", "-c", "echo travelled > /root/marker && chown 1000:1000 /root/marker");
        Assert.True(marked.ExitCode == 0, marked.ToString());

        // The archive is written here, by this machine's containerctl, with the mode a local export gives it.
        string archive = Path.Combine(host.Dir, "far-exp.ctdx");
        var exported = await host.CliAsync("export", "far-exp", archive);
        Assert.True(exported.ExitCode == 0, exported.ToString());
        Assert.True(new FileInfo(archive).Length > 0);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(archive));
        var again = await host.CliAsync("export", "far-exp", archive);
        Assert.Equal(6, again.ExitCode);
        // A failed remote export leaves no file here.
        string none = Path.Combine(host.Dir, "none.ctdx");
        Assert.Equal(3, (await host.CliAsync("export", "far-nosuch", none)).ExitCode);
        Assert.False(File.Exists(none));

        Assert.True((await host.CliAsync("destroy", "far-exp", "--yes")).ExitCode == 0);
        var imported = await host.CliAsync("import", archive, "--name", "far-imp");
        Assert.True(imported.ExitCode == 0, imported.ToString());
        Assert.True((await there.RunJobAsync(c => c.StartContainerAsync("far-imp"))).Succeeded);
        var marker = await host.CliAsync("run", "far-imp", "--", "stat", "-c", "%u %n", "/root/marker");
        Assert.Equal("1000 /root/marker\n", marker.Stdout);
        Assert.Equal("travelled\n", (await host.CliAsync("run", "far-imp", "--", "cat", "/root/marker")).Stdout);
    }

    [Fact]
    public async Task A_remote_user_outside_the_admin_group_may_read_and_is_refused_changes_by_the_other_hosts_policy()
    {
        const string user = "ctd-remote-outsider";
        await using var host = await SecondHost.StartAsync();
        await host.AddLoginUserAsync(user);
        using var there = await host.Daemon.ConnectAsync();
        Assert.True((await there.RunJobAsync(c => c.CreateContainerAsync("far-guarded", DaemonUnderTest.NixDefinition("far-guarded")))).Succeeded);

        var list = await host.CliAsAsync(user, "list", "--names");
        Assert.True(list.ExitCode == 0, list.ToString());
        Assert.Equal("far-guarded\n", list.Stdout);

        var start = await host.CliAsAsync(user, "start", "far-guarded");
        Assert.Equal(4, start.ExitCode);
        Assert.Contains("permission denied", start.Stderr);
        // Through the remote CLI too (logs runs the other host's containerctl as that user).
        var logs = await host.CliAsAsync(user, "logs", "far-guarded");
        Assert.Equal(4, logs.ExitCode);
        var run = await host.CliAsAsync(user, "run", "far-guarded", "--", "id");
        Assert.Equal(4, run.ExitCode);
        Assert.Equal("stopped", (await there.ListContainersAsync())[0].State);
        Assert.Empty(await there.ListJobsAsync());

        // Root over the same ssh may.
        var admin = await host.CliAsync("start", "far-guarded");
        Assert.True(admin.ExitCode == 0, admin.ToString());
    }

    [Fact]
    public async Task A_bad_unreachable_silent_or_refusing_host_is_a_clear_error_and_exit_code_not_a_hang()
    {
        await using var host = await SecondHost.StartAsync();
        string marker = Path.Combine(host.Dir, "pwned");

        // Bad host specs: refused before ssh runs (exit 2), an option-looking one included.
        foreach (var (spec, says) in new[]
        {
            ("", "the host is empty"),
            ("a b", "has a space"),
            ("-oProxyCommand=touch " + marker, "has a space"),
            ("-oProxyCommand=x", "is not a host name"),
            ("root@", "names no host"),
            ("@host", "is not a user name"),
            ("host:0", "is not a port number"),
            ("host:65536", "is not a port number"),
            ("::1", "in brackets"),
            ("[::1", "does not close"),
        })
        {
            var bad = await Cli.RunAsync(["-H", spec, "list"]);
            Assert.True(bad.ExitCode == 2, $"{spec}: {bad}");
            Assert.Contains(says, bad.Stderr);
        }
        var configAlone = await Cli.RunAsync(["--ssh-config", host.SshConfig, "list"]);
        Assert.Equal(2, configAlone.ExitCode);

        // Nothing listens there: ssh's own words, exit 5.
        int closed = SecondHost.FreeLoopbackPort();
        var refused = await Cli.RunAsync(["-H", $"root@127.0.0.1:{closed}", "--ssh-config", host.SshConfig, "list"]);
        Assert.Equal(5, refused.ExitCode);
        Assert.Contains($"cannot reach root@127.0.0.1:{closed} through ssh", refused.Stderr);
        Assert.Contains("Connection refused", refused.Stderr);

        // Something accepts and never speaks: ssh's ConnectTimeout ends it (exit 5), not a hang.
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var silentRun = Cli.RunAsync(["-H", $"root@127.0.0.1:{((IPEndPoint)silent.LocalEndpoint).Port}", "--ssh-config", host.SshConfig, "list"]);
        using var accepted = await silent.AcceptTcpClientAsync();
        var timedOut = await silentRun.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(5, timedOut.ExitCode);
        Assert.Contains("timed out", timedOut.Stderr);

        // ssh refuses the login: a user with no key there, and one the host does not know.
        await host.AddLoginUserAsync("ctd-remote-nokey");
        File.Delete(Path.Combine(host.SshDir, "authorized", "ctd-remote-nokey"));
        foreach (string user in new[] { "ctd-remote-nokey", "ctd-remote-nobody" })
        {
            var denied = await host.CliAsAsync(user, "list");
            Assert.Equal(5, denied.ExitCode);
            Assert.Contains("Permission denied (publickey)", denied.Stderr);
        }

        // A login that prints to stdout before the bridge runs: the handshake fails clearly, no hang.
        await host.AddLoginUserAsync("ctd-remote-noisy");
        string noisy = Path.Combine(host.BinDir, "noisy-shell");
        await File.WriteAllTextAsync(noisy, "#!/bin/sh\necho 'Welcome to the second host!'\nexec /bin/sh \"$@\"\n");
        File.SetUnixFileMode(noisy, (UnixFileMode)0b111_101_101);
        await host.RunCheckedAsync("usermod", "--shell", noisy, "ctd-remote-noisy");
        var garbled = await host.CliAsAsync("ctd-remote-noisy", "list").WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(5, garbled.ExitCode);
        Assert.Contains("the D-Bus handshake through ssh failed", garbled.Stderr);
        Assert.Contains("print to stdout for a non-interactive ssh session", garbled.Stderr);

        // No daemon on the bus there, and no bus at that address there: exit 5, naming the host's bus.
        var noBus = await Cli.RunAsync(["-H", host.Spec(), "--ssh-config", host.SshConfig, "--bus", "unix:path=/nonexistent/bus", "list"]);
        Assert.Equal(5, noBus.ExitCode);
        Assert.Contains($"the bus at unix:path=/nonexistent/bus of {host.Spec()}", noBus.Stderr);
        Assert.True(noBus.Stderr.Contains("systemd-stdio-bridge exited with 1: Failed to start bus client: No such file or directory", StringComparison.Ordinal), noBus.Stderr);
        Assert.DoesNotContain("login script", noBus.Stderr);

        // Hostile words for the remote shell arrive as words: a name with quotes and a command is
        // refused by the remote daemon as a name (exit 2) and runs nothing; so is such a bus address.
        foreach (string name in new[] { $"x'; touch {marker}; echo '", $"x\"; touch {marker}; \"", $"$(touch {marker})", $"`touch {marker}`", $"x\\'; touch {marker} #" })
        {
            var logs = await host.CliAsync("logs", name);
            Assert.True(logs.ExitCode == 2, $"{name}: {logs}");
            Assert.Contains("container name", logs.Stderr);
        }
        var hostileBus = await Cli.RunAsync(["-H", host.Spec(), "--ssh-config", host.SshConfig, "--bus", $"unix:path=/x'; touch {marker}; '", "list"]);
        Assert.Equal(5, hostileBus.ExitCode);
        var newline = await host.CliAsync("logs", "x\ntouch " + marker);
        Assert.Equal(2, newline.ExitCode);
        Assert.Contains("control character", newline.Stderr);
        Assert.False(File.Exists(marker));
    }

    [Fact]
    public async Task A_connection_that_dies_while_a_job_runs_ends_the_wait_saying_so_and_the_job_goes_on_there()
    {
        await using var host = await SecondHost.StartAsync();
        using var there = await host.Daemon.ConnectAsync();
        var waiting = host.CliAsync("create", "far-slow", "--nix", Repo.Fixture("busybox-system.nix"), "--build-on", "remote",
            "--arg", "hostName", "far-slow-" + Guid.NewGuid().ToString("N")[..8], "--arg", "buildDelay", "60", "--arg", "busybox", Prerequisites.Busybox);
        await Eventually.TrueAsync(async () => (await there.ListJobsAsync()).Length == 1, "the create job running there", TimeSpan.FromSeconds(30));
        Assert.True(host.KillSshSessions() > 0);

        var ended = await waiting.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(5, ended.ExitCode);
        Assert.Contains($"containerctld on {host.Spec()} went away, or the ssh connection to it closed, while job", ended.Stderr);
        Assert.Contains($"containers keep running. Check with 'containerctl -H {host.Spec()} jobs'.", ended.Stderr);
        var job = Assert.Single(await there.ListJobsAsync());
        Assert.Equal("create", job.Operation);
        await there.CancelJobAsync(job.Id);
    }
}
