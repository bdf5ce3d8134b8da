using System.Globalization;
using ContainerD.IntegrationTests.Harness;

namespace ContainerD.IntegrationTests;

/// <summary>
/// Attacks from inside a real container, as its root, on what must stay read-only: the store, the
/// profile directory, a read-only bind mount and an idmapped one. Each attack must fail, and the
/// host's files must be as they were — checked on the host, not through the container's eyes.
/// </summary>
public sealed class ContainerAttackTests
{
    /// <summary>
    /// One technique against every read-only mount; mount-attack.c says what each does. The two
    /// that busybox can do are also tried with busybox, as an attacker would type them.
    /// </summary>
    [Theory]
    [InlineData("remount", false)]
    [InlineData("umount", false)]
    [InlineData("umount-lazy", false)]
    [InlineData("over", false)]
    [InlineData("bind", false)]
    [InlineData("setattr", false)]
    [InlineData("clone", false)]
    // Started by hand with lxc-start: the config's pre-start hook makes the mounts (the daemon's own
    // starts make them in the daemon and skip the hooks), and they are as locked.
    [InlineData("remount", true)]
    [InlineData("umount", true)]
    [InlineData("umount-lazy", true)]
    [InlineData("over", true)]
    [InlineData("bind", true)]
    [InlineData("setattr", true)]
    [InlineData("clone", true)]
    public async Task Container_root_cannot_write_through_a_read_only_mount(string technique, bool byHandRunLxcStart)
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        await using var victims = await Victims.MakeAsync(daemon);
        using var client = await daemon.ConnectAsync();
        Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync("target", DaemonUnderTest.NixDefinition("target", hostName: "attack", extra: victims.BindMounts)))).Succeeded);
        await victims.GiveToContainerRootAsync((await client.ListContainersAsync()).Single().UidBase);
        if (byHandRunLxcStart)
        {
            var started = await Programs.Run("lxc-start", "-P", daemon.LxcPath, "-n", "target", "-d");
            Assert.True(started.ExitCode == 0, started.Stderr);
            await Eventually.TrueAsync(async () => (await client.ListContainersAsync()).Single().State == "running", "the daemon seeing the container run");
        }
        else
        {
            var start = await client.RunJobAsync(c => c.StartContainerAsync("target"));
            Assert.True(start.Succeeded, start.Message);
        }
        // The container has its copies of the mounts; the host keeps none below the rootfs.
        Assert.DoesNotContain(daemon.Dir + "/", await File.ReadAllTextAsync("/proc/self/mountinfo"));

        string tag = technique + "-" + Guid.NewGuid().ToString("N")[..8];
        // The helper lives in the read-only bind mount: attack that one last, or it hides its own binary.
        foreach (var (dir, victim) in victims.Targets)
        {
            if (technique == "remount")
            {
                var busybox = await daemon.CliAsync("run", "target", "--", "mount", "-o", "remount,bind,rw", dir);
                Assert.True(busybox.ExitCode != 0, $"busybox remounted {dir} read-write: {busybox}");
            }
            if (technique == "umount")
            {
                var busybox = await daemon.CliAsync("run", "target", "--", "umount", dir);
                Assert.True(busybox.ExitCode != 0, $"busybox unmounted {dir}: {busybox}");
            }
            var attack = await daemon.CliAsync("run", "target", "--", Victims.InsideHelper, technique, dir, victim, tag);
            Assert.True(attack.ExitCode == 0 && !attack.Stdout.Contains(" ok", StringComparison.Ordinal),
                $"{technique} against {dir} got somewhere:\n{attack}");
        }
        victims.AssertUnchanged(tag);
    }

    [Fact]
    public async Task A_descriptor_the_daemon_was_started_with_does_not_reach_a_command_run_inside()
    {
        // A wrapper that leaves the host's / open as fd 7: a command inside must not get it (lxc-attach
        // passes on what it inherits, and /proc/self/fd/7/etc/passwd would be the host's).
        await using var daemon = await DaemonUnderTest.StartAsync(wrapper: ["sh", "-c", "exec 7</ \"$@\"", "sh"]);
        using var client = await daemon.ConnectAsync();
        Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync("fds", DaemonUnderTest.NixDefinition("fds")))).Succeeded);
        Assert.True((await client.RunJobAsync(c => c.StartContainerAsync("fds"))).Succeeded);
        Assert.True(Directory.Exists($"/proc/{daemon.Pid}/fd/7"), "the daemon was not started with fd 7");
        // What ls itself has open: stdin, stdout, stderr and the directory it lists.
        string open = await Checked.InsideAsync(client, "fds", "ls", "/proc/self/fd");
        Assert.Equal(["0", "1", "2", "3"], open.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
    }

    [Fact]
    public async Task A_container_cannot_make_itself_undestroyable_with_a_name_that_is_not_UTF8_or_a_tree_deeper_than_PATH_MAX()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        using var client = await daemon.ConnectAsync();
        Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync("sticky", DaemonUnderTest.NixDefinition("sticky", hostName: "attack")))).Succeeded);
        Assert.True((await client.RunJobAsync(c => c.StartContainerAsync("sticky"))).Succeeded);
        uint range = Assert.Single(await client.ListContainersAsync()).UidBase;
        // Two chains of 200 levels of 17 bytes, one moved to the bottom of the other: 6800 bytes of
        // path, more than PATH_MAX (4096), which no single path can reach; and a link out to the host's /.
        var made = await daemon.CliAsync("run", "sticky", "--", "sh", "-c", """
            mkdir "/root/$(printf 'dir\377')" && touch "/root/$(printf 'dir\377')/$(printf 'f\376\200')" && ln -s / /root/host &&
            p= && i=0 && while [ $i -lt 200 ]; do p="${p}deep-directory-x/"; i=$((i+1)); done &&
            cd /root && mkdir -p "A/$p" "B/$p" && touch "B/${p}bottom" && mv B "A/$p"
            """);
        Assert.True(made.ExitCode == 0, made.ToString());

        var destroyed = await client.RunJobAsync(c => c.DestroyContainerAsync("sticky"));
        Assert.True(destroyed.Succeeded, destroyed.Message);
        Assert.False(Directory.Exists(Path.Combine(daemon.StateDir, "containers", "sticky")));
        Assert.Empty(await client.ListContainersAsync());
        Assert.True(Directory.Exists("/etc") && File.Exists("/etc/passwd"), "the link out was followed");
        // The range is free again: the next container gets it.
        Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync("next", DaemonUnderTest.NixDefinition("next", hostName: "attack")))).Succeeded);
        Assert.Equal(range, Assert.Single(await client.ListContainersAsync()).UidBase);
    }

    [Fact]
    public async Task A_container_that_fills_the_disk_can_still_be_destroyed()
    {
        // The state dir (and the rootfs in it) on a small file system of its own.
        await using var daemon = await DaemonUnderTest.StartAsync(prepare: async d =>
        {
            Directory.CreateDirectory(d.StateDir);
            await Programs.RunChecked("mount", "-t", "tmpfs", "-o", "size=32m,mode=0711", "containerctld-test-full", d.StateDir);
        });
        using var client = await daemon.ConnectAsync();
        Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync("filler", DaemonUnderTest.NixDefinition("filler", hostName: "attack")))).Succeeded);
        Assert.True((await client.RunJobAsync(c => c.StartContainerAsync("filler"))).Succeeded);
        var fill = await daemon.CliAsync("run", "filler", "--", "sh", "-c", "dd if=/dev/zero of=/root/fill bs=1M; df /root");
        Assert.Contains("No space left on device", fill.Stderr);

        var destroyed = await client.RunJobAsync(c => c.DestroyContainerAsync("filler"));
        Assert.True(destroyed.Succeeded, destroyed.Message);
        Assert.False(Directory.Exists(Path.Combine(daemon.StateDir, "containers", "filler")));
        Assert.Empty(await client.ListContainersAsync());
    }

    /// <summary>What the attacks aim at, made and checked on the host.</summary>
    private sealed class Victims : IAsyncDisposable
    {
        public const string InsideHelper = "/attack/ro/mount-attack";
        private const string Original = "as the host wrote it\n";
        private readonly DaemonUnderTest _daemon;
        private readonly string _storeCanary;
        private readonly string _readOnly;
        private readonly string _mapped;

        private Victims(DaemonUnderTest daemon, string storeCanary)
        {
            _daemon = daemon;
            _storeCanary = storeCanary;
            _readOnly = Path.Combine(daemon.Dir, "ro");
            _mapped = Path.Combine(daemon.Dir, "mapped");
        }

        private string ProfileDir => Path.Combine(_daemon.ProfilesDir, "target");

        public string BindMounts => $"""
            bindMounts:
              - {"{"} host: {_readOnly}, container: /attack/ro {"}"}
              - {"{"} host: {_mapped}, container: /attack/mapped, idmapped: true {"}"}
            """;

        /// <summary>Each mount under attack and the file in it the attack tries to overwrite and unlink.</summary>
        public IEnumerable<(string Dir, string Victim)> Targets =>
        [
            ("/nix/store", Path.GetFileName(_storeCanary) + "/file"),
            ("/nix/var/nix/profiles", "system"),
            ("/attack/mapped", "sentinel"),
            ("/attack/ro", "sentinel"),
        ];

        public static async Task<Victims> MakeAsync(DaemonUnderTest daemon)
        {
            // A store path of the test's own: if an attack gets through, it damages nothing else.
            string source = Path.Combine(daemon.Dir, "canary-" + Guid.NewGuid().ToString("N")[..8]);
            Directory.CreateDirectory(source);
            await File.WriteAllTextAsync(Path.Combine(source, "file"), Original);
            string canary = (await Programs.RunChecked("nix-store", "--add", source)).Trim();
            var victims = new Victims(daemon, canary);
            foreach (string dir in new[] { victims._readOnly, victims._mapped })
            {
                Directory.CreateDirectory(dir);
                await File.WriteAllTextAsync(Path.Combine(dir, "sentinel"), Original);
            }
            await Programs.RunChecked("gcc", "-static", "-O2", "-o", Path.Combine(victims._readOnly, "mount-attack"), Repo.Fixture("mount-attack.c"));
            return victims;
        }

        /// <summary>
        /// The read-only bind's files belong to the container's root, so that only the mount's
        /// read-only flag stands between it and them; the idmapped one's stay host root's (shown as 0 inside).
        /// </summary>
        public async Task GiveToContainerRootAsync(uint uidBase)
        {
            string owner = uidBase.ToString(CultureInfo.InvariantCulture);
            await Programs.RunChecked("chown", $"{owner}:{owner}", _readOnly, Path.Combine(_readOnly, "sentinel"));
        }

        public void AssertUnchanged(string tag)
        {
            Assert.Equal(Original, File.ReadAllText(Path.Combine(_storeCanary, "file")));
            Assert.False(File.Exists(Path.Combine("/nix/store", "pwned-" + tag)), "a file was created in the host's /nix/store");
            Assert.Equal(["system", "system-1-link"], Directory.EnumerateFileSystemEntries(ProfileDir).Select(Path.GetFileName).Order());
            Assert.Equal("system-1-link", new FileInfo(Path.Combine(ProfileDir, "system")).LinkTarget);
            foreach (string dir in new[] { _readOnly, _mapped })
            {
                Assert.Equal(Original, File.ReadAllText(Path.Combine(dir, "sentinel")));
                Assert.False(File.Exists(Path.Combine(dir, "pwned-" + tag)), $"a file was created in {dir}");
            }
        }

        public async ValueTask DisposeAsync()
        {
            // Only an attack that got through leaves these; the test has failed already then.
            foreach (string stray in Directory.EnumerateFiles("/nix/store", "pwned-*"))
            {
                File.Delete(stray);
            }
            await Programs.Run("nix-store", "--delete", _storeCanary);
        }
    }
}
