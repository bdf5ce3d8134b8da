using System.Diagnostics;
using System.Globalization;
using ContainerD.Testing;

namespace ContainerD.Benchmarks;

/// <summary>
/// LXD (Debian's lxd 5.0.2) as a reference point for --with-lxd. Installs it when it is missing, runs its
/// daemon on a private LXD_DIR with a dir storage pool and no network at all, and imports a local image
/// whose containers boot the same Nix-built system as ours: unprivileged with their own 65536 ids,
/// /nix/store bind-mounted read-only, `lxc.init.cmd` = the system's ./init. Disposing removes all of it:
/// containers, daemon, mounts, files, and the packages it installed together with what their scripts
/// changed (lxd's preinst adds user _lxd, group lxd and subordinate ids for _lxd and root; purge keeps them).
/// </summary>
public sealed class Lxd : IAsyncDisposable
{
    private const string Image = "bench";

    // What lxd's maintainer scripts (and usermod/userdel, which leave "-" backups) touch outside the package's files.
    private static readonly string[] Touched =
        ["/etc/subuid", "/etc/subgid", "/etc/subuid-", "/etc/subgid-", "/etc/passwd-", "/etc/group-", "/etc/shadow-", "/etc/gshadow-"];

    private readonly string _dir;
    private readonly Dictionary<string, string> _env;
    private Process? _daemon;
    // Set only when this run installed lxd: what to undo at the end.
    private List<string> _installedPackages = [];
    private Dictionary<string, (byte[] Bytes, UnixFileMode Mode)?>? _touchedBefore;
    private bool _hadUser, _hadGroup, _hadDnsmasqDir;

    public string Version { get; private set; } = "";

    /// <summary>The packages this run installed, purged again by DisposeAsync; empty when lxd was already there.</summary>
    public IReadOnlyList<string> InstalledPackages => _installedPackages;

    public int DaemonPid => _daemon!.Id;

    /// <summary>The daemon's state directory (LXD_DIR), under the work dir given to StartAsync.</summary>
    public string LxdDir => Path.Combine(_dir, "state");

    private Lxd(string dir)
    {
        _dir = dir;
        // LXD_CONF keeps the client's config.yml out of /root/.config.
        _env = new() { ["LXD_DIR"] = LxdDir, ["LXD_CONF"] = Path.Combine(dir, "client") };
    }

    /// <summary>
    /// Installs lxd if missing, starts its daemon under workDir/lxd and imports the image; on any failure
    /// everything done so far is undone. systemPath is a Nix store path whose ./init the containers boot.
    /// </summary>
    public static async Task<Lxd> StartAsync(string workDir, string systemPath)
    {
        var lxd = new Lxd(Path.Combine(workDir, "lxd"));
        try
        {
            await lxd.InstallAsync();
            await lxd.StartDaemonAsync();
            await lxd.ConfigureAsync(systemPath);
            lxd.Version = (await Programs.RunCheckedWith(lxd._env, null, "lxd", "--version")).Trim();
            return lxd;
        }
        catch (Exception e)
        {
            try
            {
                await lxd.DisposeAsync();
            }
            catch (Exception cleanup)
            {
                throw new AggregateException(e, cleanup);
            }
            throw;
        }
    }

    public Task LaunchAsync(string name) => LxcAsync("launch", Image, name);
    public Task InitAsync(string name) => LxcAsync("init", Image, name);
    public Task StartContainerAsync(string name) => LxcAsync("start", name);
    public Task StopAsync(string name, bool force) => force ? LxcAsync("stop", name, "--force") : LxcAsync("stop", name);
    public Task ExecTrueAsync(string name) => LxcAsync("exec", name, "--", "true");
    /// <summary>`lxc list` as a person runs it: the default table with its default columns (state, addresses…).</summary>
    public Task ListAsync() => LxcAsync("list");
    /// <summary>`lxc delete NAME`; with force also a running one (`--force` stops it first).</summary>
    public Task DeleteAsync(string name, bool force = false) => force ? LxcAsync("delete", "--force", name) : LxcAsync("delete", name);

    /// <summary>
    /// Brings the number of containers to `size` (counting any that exist, such as the timed ones), `running`
    /// of them running, by creating containers named lxd-list-N and starting or stopping containers. Never deletes.
    /// </summary>
    public async Task PopulateAsync(int size, int running)
    {
        // name,STATE per line; --format csv because this parses, unlike ListAsync which times what a person runs.
        var states = (await Programs.RunCheckedWith(_env, null, "lxc", ["list", "--format", "csv", "--columns", "ns"]))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(',')).ToDictionary(f => f[0], f => f[1], StringComparer.Ordinal);
        for (int i = 0; states.Count < size; i++)
        {
            string name = string.Create(CultureInfo.InvariantCulture, $"lxd-list-{i}");
            if (!states.ContainsKey(name))
            {
                await InitAsync(name);
                states[name] = "STOPPED";
            }
        }
        // Its own containers first; others (such as the timed ones) only when the counts cannot be met without them.
        var names = states.Keys.OrderBy(n => n.StartsWith("lxd-list-", StringComparison.Ordinal) ? 0 : 1).ToList();
        int now = states.Values.Count(s => s == "RUNNING");
        // `lxc start/stop` take several names: one client call per batch instead of per container.
        var toStart = names.Where(n => states[n] != "RUNNING").Take(Math.Max(0, running - now)).ToList();
        var toStop = names.Where(n => states[n] == "RUNNING").Take(Math.Max(0, now - running)).ToList();
        foreach (var batch in toStart.Chunk(50))
        {
            await LxcAsync(["start", .. batch]);
        }
        foreach (var batch in toStop.Chunk(50))
        {
            await LxcAsync(["stop", "--force", .. batch]);
        }
    }

    /// <summary>VmRSS of the lxd process itself (not its per-container `[lxc monitor]` processes).</summary>
    public double DaemonRssMegabytes() => Bench.RssMegabytes(_daemon!.Id);

    private Task LxcAsync(params string[] args) => Programs.RunCheckedWith(_env, null, "lxc", args);

    private async Task InstallAsync()
    {
        var before = await PackagesOnDiskAsync();
        if (before.Contains("lxd"))
        {
            return; // someone else's lxd: use it, never purge it
        }
        _touchedBefore = Touched.ToDictionary(p => p, p => File.Exists(p) ? (File.ReadAllBytes(p), File.GetUnixFileMode(p)) : ((byte[], UnixFileMode)?)null);
        _hadUser = File.ReadLines("/etc/passwd").Any(l => l.StartsWith("_lxd:", StringComparison.Ordinal));
        _hadGroup = File.ReadLines("/etc/group").Any(l => l.StartsWith("lxd:", StringComparison.Ordinal));
        _hadDnsmasqDir = Directory.Exists("/etc/dnsmasq.d"); // lxd's postinst creates it for a dnsmasq config link
        var env = new Dictionary<string, string> { ["DEBIAN_FRONTEND"] = "noninteractive" };
        string[] install = ["install", "-y", "-q", "--no-install-recommends", "-o", "DPkg::Lock::Timeout=300", "lxd"];
        try
        {
            if ((await Programs.RunWith(env, null, "apt-get", install)).ExitCode != 0)
            {
                // Package lists missing or stale (a fresh machine): refresh them once.
                await Programs.RunCheckedWith(env, null, "apt-get", ["update", "-q", "-o", "DPkg::Lock::Timeout=300"]);
                await Programs.RunCheckedWith(env, null, "apt-get", install);
            }
        }
        finally
        {
            // Also after a half-done install: purge whatever got unpacked.
            _installedPackages = (await PackagesOnDiskAsync()).Except(before).Order(StringComparer.Ordinal).ToList();
        }
    }

    /// <summary>Packages with files on disk (dpkg status not "not-installed" nor "config-files").</summary>
    private static async Task<HashSet<string>> PackagesOnDiskAsync()
    {
        string list = await Programs.RunCheckedWith(null, null, "dpkg-query", ["-W", "-f=${db:Status-Abbrev}\t${Package}\n"]);
        return list.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('\t'))
            .Where(f => f.Length == 2 && f[0].Length >= 2 && f[0][1] is not ('n' or 'c')).Select(f => f[1]).ToHashSet(StringComparer.Ordinal);
    }

    private async Task StartDaemonAsync()
    {
        Directory.CreateDirectory(LxdDir);
        File.SetUnixFileMode(_dir, (UnixFileMode)0b111_001_001); // unprivileged container roots traverse to their rootfs
        var startInfo = new ProcessStartInfo("lxd") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        // --group root: the socket must not depend on group lxd, which may be removed at the end.
        foreach (string arg in (string[])["--group", "root", "--logfile", Path.Combine(_dir, "lxd.log")])
        {
            startInfo.ArgumentList.Add(arg);
        }
        foreach (var (key, value) in _env)
        {
            startInfo.Environment[key] = value;
        }
        // At start (and daily) lxd fetches https://images.linuxcontainers.org/meta/instance-types/ — a DNS query
        // at least. A proxy on a closed loopback port makes that fail locally: no traffic leaves the machine.
        foreach (string proxy in (string[])["https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY"])
        {
            startInfo.Environment[proxy] = "http://127.0.0.1:9";
        }
        startInfo.Environment["no_proxy"] = startInfo.Environment["NO_PROXY"] = null;
        _daemon = Process.Start(startInfo)!;
        _ = _daemon.StandardOutput.ReadToEndAsync(); // it logs to the log file too; only drain the pipes
        _ = _daemon.StandardError.ReadToEndAsync();
        await Programs.RunCheckedWith(_env, null, "lxd", ["waitready", "--timeout", "60"]);
    }

    private async Task ConfigureAsync(string systemPath)
    {
        // A dir pool in LXD_DIR and a default profile with no NIC: containers have only lo, no traffic anywhere.
        // isolated + size 65536: each container its own 65536 host ids, as ours (LXD's default shares one big map).
        await Programs.RunCheckedWith(_env, $$"""
            config: {}
            storage_pools:
            - name: default
              driver: dir
            profiles:
            - name: default
              config:
                raw.lxc: "lxc.init.cmd = {{systemPath}}/init"
                environment.PATH: "{{systemPath}}/sw/bin"
                security.idmap.isolated: "true"
                security.idmap.size: "65536"
              devices:
                root: { type: disk, path: /, pool: default }
                store: { type: disk, source: /nix/store, path: /nix/store, readonly: "true" }
            """, "lxd", "init", "--preseed");

        // The image is mount points only, like our containers' rootfs: init and every program come from the store.
        string image = Path.Combine(_dir, "image");
        foreach (string d in (string[])["dev", "proc", "sys", "tmp", "run", "root", "etc", "nix/store"])
        {
            Directory.CreateDirectory(Path.Combine(image, "rootfs", d));
        }
        await File.WriteAllTextAsync(Path.Combine(image, "metadata.yaml"), string.Create(CultureInfo.InvariantCulture,
            $"architecture: x86_64\ncreation_date: {DateTimeOffset.UtcNow.ToUnixTimeSeconds()}\nproperties:\n  description: mount points only, boots {systemPath}/init\n"));
        string tarball = Path.Combine(_dir, "image.tar.gz");
        await Programs.RunCheckedWith(null, null, "tar", ["-C", image, "--numeric-owner", "--owner=0", "--group=0", "-czf", tarball, "metadata.yaml", "rootfs"]);
        await Programs.RunCheckedWith(_env, null, "lxc", ["image", "import", tarball, "--alias", Image]);
    }

    /// <summary>Stops and removes everything StartAsync made, each step even if an earlier one failed.</summary>
    public async ValueTask DisposeAsync()
    {
        var errors = new List<Exception>();
        async Task Step(Func<Task> step)
        {
            try
            {
                await step();
            }
            catch (Exception e)
            {
                errors.Add(e);
            }
        }

        if (_daemon is not null)
        {
            bool crashed = _daemon.HasExited;
            if (!crashed)
            {
                // Graceful first; whether the daemon then exits is what counts, so their errors are not kept.
                await Programs.RunWith(_env, null, "lxc", ["stop", "--all", "--force"]);
                await Programs.RunWith(_env, null, "lxd", ["shutdown", "--timeout", "60"]);
            }
            await Step(async () =>
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                try
                {
                    await _daemon.WaitForExitAsync(timeout.Token);
                }
                catch (OperationCanceledException)
                {
                    _daemon.Kill(entireProcessTree: true); // with it its container monitors and inits
                    await _daemon.WaitForExitAsync();
                    crashed = true;
                    throw new TimeoutException("lxd did not shut down within 30 s; killed it and its process tree");
                }
            });
            _daemon.Dispose();
            if (crashed)
            {
                // Its containers outlive a dead daemon: they are liblxc containers with lxcpath LXD_DIR/containers,
                // and their [lxc monitor] still answers lxc-stop (LXC's own tools, installed with ContainerD).
                string lxcPath = Path.Combine(LxdDir, "containers");
                foreach (string container in Directory.Exists(lxcPath) ? Directory.GetFileSystemEntries(lxcPath) : [])
                {
                    await Programs.RunWith(null, null, "lxc-stop", ["-P", lxcPath, "-n", Path.GetFileName(container), "--kill"]);
                }
            }
        }

        // lxd shutdown unmounts shmounts and devlxd; after a kill they stay. Deepest first.
        await Step(async () =>
        {
            foreach (string mount in MountsUnder(_dir).OrderByDescending(m => m.Length))
            {
                await Programs.RunCheckedWith(null, null, "umount", ["--lazy", mount]);
            }
        });
        // Never delete through a mount point (a container's view of /nix/store would be one).
        await Step(async () =>
        {
            if (MountsUnder(_dir).Count == 0)
            {
                await Programs.RunCheckedWith(null, null, "rm", ["-rf", "--one-file-system", _dir]);
            }
            else
            {
                throw new InvalidOperationException($"still mounted under {_dir}, not removed: {string.Join(", ", MountsUnder(_dir))}");
            }
        });

        if (_installedPackages.Count > 0)
        {
            var env = new Dictionary<string, string> { ["DEBIAN_FRONTEND"] = "noninteractive" };
            await Step(() => Programs.RunCheckedWith(env, null, "apt-get", ["purge", "-y", "-q", "-o", "DPkg::Lock::Timeout=300", .. _installedPackages]));
        }
        if (_touchedBefore is not null)
        {
            await Step(async () =>
            {
                if (!_hadUser && File.ReadLines("/etc/passwd").Any(l => l.StartsWith("_lxd:", StringComparison.Ordinal)))
                {
                    await Programs.RunCheckedWith(null, null, "userdel", ["_lxd"]);
                }
                if (!_hadGroup && File.ReadLines("/etc/group").Any(l => l.StartsWith("lxd:", StringComparison.Ordinal)))
                {
                    await Programs.RunCheckedWith(null, null, "groupdel", ["lxd"]);
                }
            });
            // After userdel, which rewrites them too: back to the bytes they had before the install.
            await Step(() =>
            {
                foreach (var (path, before) in _touchedBefore)
                {
                    if (before is not { } b)
                    {
                        File.Delete(path);
                    }
                    else if (!File.Exists(path) || !File.ReadAllBytes(path).AsSpan().SequenceEqual(b.Bytes))
                    {
                        File.WriteAllBytes(path, b.Bytes);
                        File.SetUnixFileMode(path, b.Mode);
                    }
                }
                if (!_hadDnsmasqDir && Directory.Exists("/etc/dnsmasq.d") && !Directory.EnumerateFileSystemEntries("/etc/dnsmasq.d").Any())
                {
                    Directory.Delete("/etc/dnsmasq.d");
                }
                return Task.CompletedTask;
            });
        }
        if (errors.Count > 0)
        {
            throw new AggregateException("LXD cleanup failed", errors);
        }
    }

    private static List<string> MountsUnder(string dir) =>
        File.ReadLines("/proc/self/mountinfo").Select(l => l.Split(' ')[4].Replace("\\040", " ", StringComparison.Ordinal))
            .Where(m => m == dir || m.StartsWith(dir + "/", StringComparison.Ordinal)).ToList();
}
