using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using ContainerD.IntegrationTests.Harness;

namespace ContainerD.IntegrationTests;

/// <summary>
/// Real guests: Debian's systemd 252 as PID 1 of the container, served from the store by
/// examples/systemd-system (nothing of the host mounted but the store and the profile).
/// Container names start with sg- and the veth subnet is 10.231.60.0/30: host-wide names.
/// </summary>
public sealed class SystemdGuestTests
{
    /// <summary>
    /// What a user namespace forces to fail on this guest, and nothing else: debugfs may only be
    /// mounted by the host's root (it is not FS_USERNS_MOUNT), so sys-kernel-debug.mount fails.
    /// </summary>
    private static readonly string[] ForcedFailures = ["sys-kernel-debug.mount"];

    [Fact]
    public async Task Boots_systemd_from_the_store_to_degraded_with_only_the_forced_failures_stops_cleanly_and_boots_again()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        var systems = await SystemdSystems.GetAsync();
        var create = await daemon.CliAsync("create", "sg-boot", "--system", systems.Hello, "--start");
        Assert.True(create.ExitCode == 0, create.ToString());

        Assert.Equal("degraded", await WaitBootedAsync(daemon, "sg-boot"));
        Assert.Equal(ForcedFailures, await FailedUnitsAsync(daemon, "sg-boot"));
        // run answers with systemd's own view, and its exit code (1: degraded is not running).
        var state = await daemon.CliAsync("run", "sg-boot", "--", "systemctl", "is-system-running");
        Assert.Equal(("degraded\n", 1), (state.Stdout, state.ExitCode));
        Assert.Equal("active\n", (await Inside(daemon, "sg-boot", "systemctl", "is-active", "hello.service")).Stdout);

        // PID 1 is systemd, and its binary is in the store (through the /lib link the init made).
        Assert.Equal("systemd\n", (await Inside(daemon, "sg-boot", "cat", "/proc/1/comm")).Stdout);
        string exe = (await Inside(daemon, "sg-boot", "readlink", "-f", "/proc/1/exe")).Stdout.Trim();
        Assert.Matches(@"^/nix/store/[a-z0-9]{32}-debian-12-systemd-252/usr/lib/systemd/systemd$", exe);
        Assert.StartsWith("/nix/store/", (await Inside(daemon, "sg-boot", "readlink", "/usr")).Stdout);
        // No directory of the host is mounted but the store and the profile: every mount of a
        // real filesystem is the rootfs or one of those two (the rest are proc, sysfs, tmpfs, …).
        Assert.Equal(["/", "/nix/store", "/nix/var/nix/profiles"], await DiskMountsAsync(daemon, "sg-boot"));

        // The console log shows the boot, from stage 2 to systemd's targets.
        string boot = (await daemon.CliAsync("logs", "sg-boot")).Stdout;
        Assert.Contains("stage 2: booting /nix/store/", boot);
        Assert.Contains("Welcome to ContainerD systemd example", boot);
        Assert.Contains("Reached target multi-user.target", boot);

        // A clean stop: systemd's own shutdown (LXC sends SIGRTMIN+3 to an init that blocks it)
        // within stopTimeout (20 s) — the job would say "killed it" otherwise.
        var stop = await daemon.CliAsync("stop", "sg-boot");
        Assert.True(stop.ExitCode == 0, stop.ToString());
        Assert.DoesNotContain("killed", stop.Stdout);
        string shutdown = (await daemon.CliAsync("logs", "sg-boot")).Stdout;
        Assert.Contains("Stopped hello.service", shutdown);
        Assert.Contains("Reached target final.target", shutdown);
        Assert.Contains("Halting system.", shutdown);

        // It boots again, and restart stops it cleanly and boots it once more.
        Assert.Equal(0, (await daemon.CliAsync("start", "sg-boot")).ExitCode);
        Assert.Equal("degraded", await WaitBootedAsync(daemon, "sg-boot"));
        int before = await InitPidAsync(daemon);
        var restart = await daemon.CliAsync("restart", "sg-boot");
        Assert.True(restart.ExitCode == 0, restart.ToString());
        Assert.DoesNotContain("killed", restart.Stdout);
        Assert.NotEqual(before, await InitPidAsync(daemon));
        Assert.Equal("degraded", await WaitBootedAsync(daemon, "sg-boot"));
        Assert.Equal(ForcedFailures, await FailedUnitsAsync(daemon, "sg-boot"));
    }

    [Fact]
    public async Task A_guest_whose_shutdown_never_ends_is_killed_at_stopTimeout_and_the_stop_job_says_so()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        var systems = await SystemdSystems.GetAsync();
        string file = Path.Combine(daemon.Dir, "sg-stub.yaml");
        // stubborn.service's ExecStop never returns, with no stop timeout: systemd's halt waits forever.
        await File.WriteAllTextAsync(file, SystemdSystems.Definition("sg-stub", systems.Stubborn).Replace("stopTimeout: 20s", "stopTimeout: 3s"));
        var create = await daemon.CliAsync("create", "sg-stub", "-f", file, "--start");
        Assert.True(create.ExitCode == 0, create.ToString());
        await WaitBootedAsync(daemon, "sg-stub");
        Assert.Equal("active\n", (await Inside(daemon, "sg-stub", "systemctl", "is-active", "stubborn.service")).Stdout);

        // The job names the timeout it waited (the definition's 3 s) before it killed.
        var stop = await daemon.CliAsync("stop", "sg-stub");
        Assert.True(stop.ExitCode == 0, stop.ToString());
        Assert.Contains("container sg-stub did not power off within 3 s: killed it", stop.Stdout);
        Assert.Contains("stopped", (await daemon.CliAsync("list")).Stdout);
        // It had begun to shut down: systemd was stopping the stubborn service when it was killed.
        Assert.Contains("Stopping stubborn.service", (await daemon.CliAsync("logs", "sg-stub")).Stdout);
    }

    [Fact]
    public async Task Shell_is_a_login_shell_on_the_systemd_guest_through_a_real_terminal()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        var systems = await SystemdSystems.GetAsync();
        Assert.Equal(0, (await daemon.CliAsync("create", "sg-shell", "--system", systems.Hello, "--start")).ExitCode);
        await WaitBootedAsync(daemon, "sg-shell");

        await using var terminal = await TmuxTerminal.StartAsync(Repo.Cli, "--bus", daemon.Bus.Address, "shell", "sg-shell");
        // Type only once the login shell shows its prompt: what is typed before it starts reading can
        // be echoed by the terminal and then discarded as the shell sets the terminal up.
        await terminal.WaitForScreenAsync(s => s.Contains("Connected to sg-shell") && s.TrimEnd().EndsWith('#'), "the shell's prompt");
        await terminal.TypeLineAsync("echo pid1=$(cat /proc/1/comm) state=$(systemctl is-system-running) sum=$((6*7)) tty=$(tty)");
        string screen = await terminal.WaitForScreenAsync(s => s.Contains("sum=42"), "the command's output");
        Assert.Matches(@"pid1=systemd state=degraded sum=42 tty=/dev/pts/\d+", screen);
        await terminal.TypeLineAsync("exit");
        await terminal.WaitForScreenAsync(s => s.Contains("Disconnected from sg-shell"), "the end of the session");
        Assert.Equal(0, await terminal.WaitForExitAsync("containerctl exiting"));
    }

    [Fact]
    public async Task Switch_adds_and_removes_units_without_a_reboot_a_failing_unit_fails_the_job_and_rollback_switches_back()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        var systems = await SystemdSystems.GetAsync();
        string file = Path.Combine(daemon.Dir, "sg-switch.yaml");
        await File.WriteAllTextAsync(file, SystemdSystems.Definition("sg-switch", systems.Hello));
        Assert.Equal(0, (await daemon.CliAsync("create", "sg-switch", "-f", file, "--start")).ExitCode);
        await WaitBootedAsync(daemon, "sg-switch");
        int init = await InitPidAsync(daemon);

        // Generation 2 has greeter.service instead of hello.service.
        await File.WriteAllTextAsync(file, SystemdSystems.Definition("sg-switch", systems.Greeter));
        var update = await daemon.CliAsync("update", "sg-switch", "-f", file);
        Assert.True(update.ExitCode == 0, update.ToString());
        Assert.Contains("stopping the following units: hello.service", update.Stdout);
        Assert.Contains("starting the following units: greeter.service", update.Stdout);
        Assert.Equal("active\n", (await Inside(daemon, "sg-switch", "systemctl", "is-active", "greeter.service")).Stdout);
        Assert.Equal("inactive\n", (await Inside(daemon, "sg-switch", "systemctl", "is-active", "hello.service")).Stdout);
        Assert.Equal("2\n", (await Inside(daemon, "sg-switch", "cat", "/etc/variant")).Stdout);
        Assert.Equal(init, await InitPidAsync(daemon));

        // Generation 3 adds a unit that fails: the job fails naming it, the guest keeps running.
        await File.WriteAllTextAsync(file, SystemdSystems.Definition("sg-switch", systems.GreeterAndFailing));
        var failing = await daemon.CliAsync("update", "sg-switch", "-f", file);
        Assert.Equal(1, failing.ExitCode);
        Assert.Contains("switch-to-configuration failed in 'sg-switch' (exit 4)", failing.Stderr);
        Assert.Contains("the following units failed: fail-x.service (exit-code, status 1)", failing.Stderr);
        Assert.Matches(@"(?m)^sg-switch\s+running\s", (await daemon.CliAsync("list")).Stdout);
        Assert.Equal(init, await InitPidAsync(daemon));
        string[] failedNow = await FailedUnitsAsync(daemon, "sg-switch");
        Assert.Equal(["fail-x.service", .. ForcedFailures], failedNow);
        Assert.Equal("active\n", (await Inside(daemon, "sg-switch", "systemctl", "is-active", "greeter.service")).Stdout);

        // Rollback switches back to generation 2 the same way: the failed unit goes, nothing reboots.
        var rollback = await daemon.CliAsync("rollback", "sg-switch");
        Assert.True(rollback.ExitCode == 0, rollback.ToString());
        Assert.Contains("stopping the following units: fail-x.service", rollback.Stdout);
        Assert.Equal(ForcedFailures, await FailedUnitsAsync(daemon, "sg-switch"));
        Assert.Equal("2\n", (await Inside(daemon, "sg-switch", "cat", "/etc/variant")).Stdout);
        Assert.Equal("active\n", (await Inside(daemon, "sg-switch", "systemctl", "is-active", "greeter.service")).Stdout);
        Assert.Equal(init, await InitPidAsync(daemon));
        Assert.Contains("Generation: 2", (await daemon.CliAsync("status", "sg-switch")).Stdout);
    }

    [Fact]
    public async Task Limits_a_veth_link_and_a_bind_mount_work_with_the_systemd_guest()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        var systems = await SystemdSystems.GetAsync();
        string data = Path.Combine(daemon.Dir, "data");
        string extra = $"""
            limits: {"{"} memory: 256M, pids: 300 {"}"}
            network:
              mode: veth
              hostAddress: 10.231.60.1/30
              localAddress: 10.231.60.2/30
            bindMounts:
              - {"{"} host: {data}, container: /srv/data, readOnly: false, create: true {"}"}
            """;
        string file = Path.Combine(daemon.Dir, "sg-net.yaml");
        await File.WriteAllTextAsync(file, SystemdSystems.Definition("sg-net", systems.Hello, extra));
        var create = await daemon.CliAsync("create", "sg-net", "-f", file, "--start");
        Assert.True(create.ExitCode == 0, create.ToString());
        // The limits, the link and the mount cost systemd nothing: the same forced failures only.
        Assert.Equal("degraded", await WaitBootedAsync(daemon, "sg-net"));
        Assert.Equal(ForcedFailures, await FailedUnitsAsync(daemon, "sg-net"));

        int pid = await InitPidAsync(daemon);
        // systemd moves itself into init.scope, a child of the container's cgroup where LXC put the limits.
        string memory = ContainerCgroup(pid, "memory"), pids = ContainerCgroup(pid, "pids");
        Assert.Equal(256L << 20, long.Parse(await ResourceTests.ReadCgroupAsync(memory, "memory.limit_in_bytes", "memory.max"), CultureInfo.InvariantCulture));
        Assert.Equal("300", await ResourceTests.ReadCgroupAsync(pids, "pids.max", "pids.max"));

        // LXC set the address; the guest runs no network manager. Host → guest and guest → host.
        Assert.Contains("Addresses: 10.231.60.2/30", (await daemon.CliAsync("status", "sg-net")).Stdout);
        var ping = await Programs.Run(Prerequisites.Busybox, "ping", "-c", "1", "-W", "2", "10.231.60.2");
        for (int attempt = 0; attempt < 4 && ping.ExitCode != 0; attempt++)
        {
            await Task.Delay(500);
            ping = await Programs.Run(Prerequisites.Busybox, "ping", "-c", "1", "-W", "2", "10.231.60.2");
        }
        Assert.True(ping.ExitCode == 0, ping.Stdout + ping.Stderr);
        using (var listener = new TcpListener(IPAddress.Parse("10.231.60.1"), 0))
        {
            listener.Start();
            int port = ((IPEndPoint)listener.LocalEndpoint).Port;
            var accept = listener.AcceptTcpClientAsync();
            var send = await Inside(daemon, "sg-net", "bash", "-c", $"echo from-the-guest > /dev/tcp/10.231.60.1/{port}");
            Assert.True(send.ExitCode == 0, send.ToString());
            using var connection = await accept.WaitAsync(TimeSpan.FromSeconds(10));
            using var reader = new StreamReader(connection.GetStream());
            Assert.Equal("from-the-guest", await reader.ReadLineAsync());
        }

        // The bind mount: written inside, on the host owned by the container's root (its range's base).
        var write = await Inside(daemon, "sg-net", "sh", "-c", "echo hello > /srv/data/note");
        Assert.True(write.ExitCode == 0, write.ToString());
        Assert.Equal("hello\n", await File.ReadAllTextAsync(Path.Combine(data, "note")));
        Assert.Equal(HostFacts.UidOf(pid), HostFacts.OwnerOf(Path.Combine(data, "note")));

        Assert.Equal(0, (await daemon.CliAsync("stop", "sg-net")).ExitCode);
        Assert.NotEqual(0, (await Programs.Run("ip", "link", "show", "ve-sg-net")).ExitCode);
    }

    private static string ContainerCgroup(int pid, string controller)
    {
        string dir = ResourceTests.ControllerDir((uint)pid, controller);
        Assert.EndsWith("/init.scope", dir);
        return Path.GetDirectoryName(dir)!;
    }

    private static Task<CliResult> Inside(DaemonUnderTest daemon, string container, params string[] argv) =>
        daemon.CliAsync(["run", container, "--", .. argv]);

    /// <summary>
    /// Waits until systemd has finished booting and returns its state (running or degraded). Polled:
    /// `is-system-running --wait` needs the guest's D-Bus, which is not up at first.
    /// </summary>
    internal static async Task<string> WaitBootedAsync(DaemonUnderTest daemon, string container)
    {
        string state = "";
        await Eventually.TrueAsync(async () =>
        {
            state = (await Inside(daemon, container, "systemctl", "is-system-running")).Stdout.Trim();
            return state is "running" or "degraded" or "maintenance" or "stopping";
        }, $"systemd in {container} finishing its boot", TimeSpan.FromSeconds(60));
        return state;
    }

    private static async Task<string[]> FailedUnitsAsync(DaemonUnderTest daemon, string container)
    {
        var failed = await Inside(daemon, container, "systemctl", "list-units", "--failed", "--plain", "--no-legend", "--no-pager");
        return [.. failed.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')[0]).Order(StringComparer.Ordinal)];
    }

    private static async Task<int> InitPidAsync(DaemonUnderTest daemon)
    {
        using var client = await daemon.ConnectAsync();
        return (int)(await client.ListContainersAsync()).Single().LeaderPid;
    }

    /// <summary>Mount points inside whose filesystem is a disk's, i.e. directories of the host.</summary>
    private static async Task<string[]> DiskMountsAsync(DaemonUnderTest daemon, string container)
    {
        string[] virtualFs = ["proc", "sysfs", "tmpfs", "devtmpfs", "devpts", "cgroup", "cgroup2", "mqueue", "fusectl", "configfs",
            "tracefs", "debugfs", "ramfs", "securityfs", "pstore", "bpf", "binfmt_misc", "hugetlbfs", "autofs"];
        string mountinfo = (await Inside(daemon, container, "cat", "/proc/self/mountinfo")).Stdout;
        return [.. mountinfo.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => (MountPoint: line.Split(' ')[4], Type: line.Split(" - ")[1].Split(' ')[0]))
            .Where(m => !virtualFs.Contains(m.Type))
            .Select(m => m.MountPoint)
            .Order(StringComparer.Ordinal)];
    }
}
