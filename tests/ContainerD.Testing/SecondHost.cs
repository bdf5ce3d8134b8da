using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace ContainerD.Testing;

/// <summary>
/// A second host on this machine, for everything that crosses machines: `containerctl -H`, push and
/// pull of systems, and what builds on them (export/import, copy, move). What makes it another host:
/// <list type="bullet">
/// <item><b>Its own Nix store and database.</b> A private mount namespace (held by an anchor process,
/// entered with nsenter) has <see cref="NixDir"/> bind-mounted over /nix: its own /nix/store,
/// /nix/var/nix/db, profiles and GC roots, empty at the start. Not nix's <c>--store</c> (a chroot
/// store): that keeps the paths' names but puts their files elsewhere, while the daemon, LXC and every
/// container read /nix/store itself — only a real /nix at /nix is a second store to all of them. Debian's
/// Nix lives in /usr, so the empty store needs nothing to work: the daemon builds the busybox system
/// there from builtins, as on a fresh host.</item>
/// <item><b>Its own /etc and /run.</b> Overlays, as tests/private-etc.sh makes one: users, groups and
/// root's subuid lines made there stay there; /run gives sshd its /run/sshd (the host has none, and
/// must not get one) and LXC its own locks. Its nix.conf has no build users (build-users-group is
/// empty): the machine's nixbld users would be shared by two stores, and Nix kills whatever runs as
/// a build user before it builds as it — the other store's build.</item>
/// <item><b>Its own bus and daemon.</b> A <see cref="PrivateBus"/> configured as a system bus with the
/// repository's policy (so a remote non-admin is refused as on a real host) and a
/// <see cref="DaemonUnderTest"/>, both started inside the namespace (the bus refuses a caller whose
/// uid its /etc does not know: the host's own users are in the host's /etc only).</item>
/// <item><b>An sshd</b> (Debian's, run with a config of its own: no PAM, keys only) on 127.0.0.1 and a
/// free port — nothing listens on or talks to any other address. Its host key and one client key are
/// made per host in <see cref="Dir"/>; <see cref="SshConfig"/> is a client config that trusts exactly
/// that host key (StrictHostKeyChecking, BatchMode), passed with <c>ssh -F</c> or <c>containerctl
/// --ssh-config</c>: nothing in ~/.ssh or /etc/ssh is read or changed. Its sessions' PATH starts with
/// <see cref="BinDir"/>, which holds the published containerctl: the host "has ContainerD installed".</item>
/// </list>
/// Dispose stops the daemon (and its containers), kills every process left in the namespace (sshd,
/// sessions), which takes the namespace and its mounts with it, and removes <see cref="Dir"/>.
/// </summary>
public sealed class SecondHost : IAsyncDisposable
{
    private readonly Process _anchor;
    private readonly StringBuilder _sshdLog = new();
    private Process? _sshd;
    private DaemonUnderTest? _daemon;
    private string _namespace = "";

    /// <summary>Everything of this host: its /nix, its /etc and /run layers, its ssh keys and configs.</summary>
    public string Dir { get; }
    /// <summary>What is /nix inside the host.</summary>
    public string NixDir => Path.Combine(Dir, "nix");
    public string SshDir => Path.Combine(Dir, "ssh");
    /// <summary>The client's ssh config for this host (ssh -F): the key, the pinned host key, BatchMode.</summary>
    public string SshConfig => Path.Combine(SshDir, "client_config");
    /// <summary>First on the PATH of the host's ssh sessions: containerctl is there.</summary>
    public string BinDir => Path.Combine(Dir, "bin");
    public int Port { get; private set; }
    /// <summary>Every sshd log line so far (for failure messages).</summary>
    public string SshdLog { get { lock (_sshdLog) { return _sshdLog.ToString(); } } }
    public DaemonUnderTest Daemon => _daemon ?? throw new InvalidOperationException("the second host has no daemon yet");
    /// <summary>The pid whose mount namespace is this host's.</summary>
    public int NamespacePid => _anchor.Id;

    private SecondHost(string dir, Process anchor)
    {
        Dir = dir;
        _anchor = anchor;
    }

    /// <summary>The -H argument for a user of this host, e.g. root@127.0.0.1:40123.</summary>
    public string Spec(string user = "root") => $"{user}@127.0.0.1:{Port}";

    /// <summary>Starts the host: namespace, sshd, bus and daemon (daemonConfig goes into its config.yaml).</summary>
    public static async Task<SecondHost> StartAsync(string daemonConfig = "")
    {
        Prerequisites.Require();
        if (!File.Exists("/usr/sbin/sshd") || Prerequisites.Which("ssh-keygen") is null)
        {
            throw new InvalidOperationException("the second host needs Debian's openssh-server (sshd) and openssh-client: run ./scripts/install-deps.sh");
        }
        string dir = Path.Combine(Path.GetTempPath(), "ctd-host-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(dir);
        // Users of the host (sshd's sessions, the bus's clients) must traverse into it.
        File.SetUnixFileMode(dir, (UnixFileMode)0b111_101_101);
        var anchor = StartAnchor();
        var host = new SecondHost(dir, anchor);
        try
        {
            await host.MountAsync();
            await host.MakeKeysAsync();
            await host.StartSshdAsync();
            string busDir = Path.Combine(dir, "bus");
            Directory.CreateDirectory(busDir);
            File.SetUnixFileMode(busDir, (UnixFileMode)0b111_101_101);
            // Inside: the bus resolves its callers' uids to users and groups in the host's /etc.
            var bus = PrivateBus.Start(BusConfigs.SystemWithRepoPolicy(busDir), host.Enter());
            host._daemon = await DaemonUnderTest.StartAsync(daemonConfig, bus, wrapper: host.Enter());
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
        return host;
    }

    /// <summary>The argv prefix that runs a program inside the host (its /nix, /etc, /run).</summary>
    public string[] Enter() => ["nsenter", $"--target={_anchor.Id}", "--mount", "--"];

    /// <summary>Runs argv inside the host, as root.</summary>
    public Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(params string[] argv) => Programs.Run("nsenter", [.. Enter()[1..], .. argv]);

    public Task<string> RunCheckedAsync(params string[] argv) => Programs.RunChecked("nsenter", [.. Enter()[1..], .. argv]);

    /// <summary>Appends text to a file inside the host (its /etc is its own: e.g. /etc/nix/nix.conf).</summary>
    public Task AppendFileAsync(string path, string text) =>
        Programs.RunCheckedWith(null, text, "nsenter", [.. Enter()[1..], "tee", "-a", path]);

    /// <summary>containerctl on this machine, driving the second host's daemon through ssh as user.</summary>
    public Task<CliResult> CliAsync(params string[] args) => CliAsAsync("root", args);

    public Task<CliResult> CliAsAsync(string user, params string[] args) =>
        Cli.RunAsync(["-H", Spec(user), "--ssh-config", SshConfig, "--bus", Daemon.Bus.Address, .. args]);

    /// <summary>Which of these store paths the host's store holds (nix-store --check-validity, path by path).</summary>
    public async Task<IReadOnlyList<string>> ValidPathsAsync(IEnumerable<string> paths)
    {
        var valid = new List<string>();
        foreach (string path in paths)
        {
            if ((await RunAsync("nix-store", "--check-validity", path)).ExitCode == 0)
            {
                valid.Add(path);
            }
        }
        return valid;
    }

    /// <summary>Copies store paths (with their closure) from this machine's store into the host's, over its sshd.</summary>
    public Task CopyToAsync(params string[] storePaths) =>
        Programs.RunCheckedWith(NixSshOptions(), null, "nix-copy-closure", ["--to", "root@127.0.0.1", .. storePaths]);

    /// <summary>NIX_SSHOPTS for nix-copy-closure and nix copy to this host.</summary>
    public IReadOnlyDictionary<string, string> NixSshOptions() =>
        new Dictionary<string, string> { ["NIX_SSHOPTS"] = $"-F {SshConfig} -p {Port}" };

    /// <summary>A user of the host only (in its /etc) who may log in over ssh with the client key.</summary>
    public async Task AddLoginUserAsync(string user, string? group = null)
    {
        if (group is not null && (await RunAsync("getent", "group", group)).ExitCode != 0)
        {
            await RunCheckedAsync("groupadd", "--system", group);
        }
        await RunCheckedAsync("useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/bin/sh", user);
        // useradd locks the password ("!"): without PAM, sshd refuses a locked account even with a key.
        await RunCheckedAsync("usermod", "--password", "*", user);
        if (group is not null)
        {
            await RunCheckedAsync("usermod", "--append", "--groups", group, user);
        }
        AuthorizeClientKey(user);
    }

    /// <summary>Lets the client key log in as user (who must exist inside the host).</summary>
    public void AuthorizeClientKey(string user)
    {
        string file = Path.Combine(SshDir, "authorized", user);
        File.Copy(Path.Combine(SshDir, "client_key.pub"), file, overwrite: true);
        File.SetUnixFileMode(file, (UnixFileMode)0b110_100_100);
    }

    /// <summary>Ends every ssh session into the host (what a network failure does to them); sshd keeps listening.</summary>
    public int KillSshSessions()
    {
        int killed = 0;
        if (_anchor.HasExited)
        {
            return 0;
        }
        foreach (int pid in ProcessesInside(_namespace).Where(p => p != _sshd?.Id && p != _anchor.Id))
        {
            try
            {
                // comm, not ProcessName: a session retitles itself ("sshd: root@notty").
                if (File.ReadAllText($"/proc/{pid}/comm").Trim() == "sshd")
                {
                    using var process = Process.GetProcessById(pid);
                    process.Kill();
                    killed++;
                }
            }
            catch (Exception e) when (e is IOException or ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                // It ended meanwhile.
            }
        }
        return killed;
    }

    private static Process StartAnchor()
    {
        // The namespace lives as long as a process is in it. The anchor is `cat` on a pipe from this
        // process: it ends when Dispose closes the pipe, and by itself when the test process dies.
        var startInfo = new ProcessStartInfo("unshare")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (string arg in new[] { "--mount", "--propagation", "private", "--", "cat" })
        {
            startInfo.ArgumentList.Add(arg);
        }
        return Process.Start(startInfo)!;
    }

    private async Task MountAsync()
    {
        string ours = MountNamespace(Environment.ProcessId);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (MountNamespace(_anchor.Id) == ours || File.ReadAllText($"/proc/{_anchor.Id}/comm").Trim() != "cat")
        {
            if (_anchor.HasExited || DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException("unshare --mount did not make the second host's namespace");
            }
            await Task.Delay(10);
        }
        _namespace = MountNamespace(_anchor.Id);
        // Its store as Nix makes one: 1775 root:nixbld (the build users write there).
        Directory.CreateDirectory(Path.Combine(NixDir, "store"));
        Directory.CreateDirectory(Path.Combine(NixDir, "var", "nix"));
        await Programs.RunChecked("chown", "root:nixbld", Path.Combine(NixDir, "store"));
        await Programs.RunChecked("chmod", "1775", Path.Combine(NixDir, "store"));
        await RunCheckedAsync("mount", "--bind", NixDir, "/nix");
        foreach (string point in new[] { "etc", "run" })
        {
            string upper = Path.Combine(Dir, point, "upper"), work = Path.Combine(Dir, point, "work");
            Directory.CreateDirectory(upper);
            Directory.CreateDirectory(work);
            await RunCheckedAsync("mount", "-t", "overlay", "ctd-second-host-" + point,
                "-o", $"lowerdir=/{point},upperdir={upper},workdir={work}", "/" + point);
        }
        await RunCheckedAsync("mkdir", "-p", "-m", "0755", "/run/sshd");
        // No build users: they are this machine's nixbld users, whose lock files are per store. The
        // host's Nix would take nixbld1 while this machine's has it and, as Nix does before a build,
        // kill every process of that uid — this machine's build. The host builds as root instead.
        await AppendFileAsync("/etc/nix/nix.conf", "\n# ContainerD.Testing.SecondHost: no build users shared with the machine's own store\nbuild-users-group =\n");
        Directory.CreateDirectory(BinDir);
        File.SetUnixFileMode(BinDir, (UnixFileMode)0b111_101_101);
        File.CreateSymbolicLink(Path.Combine(BinDir, "containerctl"), Repo.Cli);
    }

    private async Task MakeKeysAsync()
    {
        Directory.CreateDirectory(Path.Combine(SshDir, "authorized"));
        File.SetUnixFileMode(SshDir, (UnixFileMode)0b111_101_101);
        File.SetUnixFileMode(Path.Combine(SshDir, "authorized"), (UnixFileMode)0b111_101_101);
        foreach (string key in new[] { "host_key", "client_key" })
        {
            await Programs.RunChecked("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "ctd-second-host", "-f", Path.Combine(SshDir, key));
        }
        AuthorizeClientKey("root");
    }

    private async Task StartSshdAsync()
    {
        for (int attempt = 1; ; attempt++)
        {
            Port = FreeLoopbackPort();
            await WriteSshConfigsAsync();
            var startInfo = new ProcessStartInfo("nsenter")
            {
                RedirectStandardError = true,
                RedirectStandardOutput = true,
                UseShellExecute = false,
            };
            foreach (string arg in Enter()[1..].Concat(["/usr/sbin/sshd", "-D", "-e", "-f", Path.Combine(SshDir, "sshd_config")]))
            {
                startInfo.ArgumentList.Add(arg);
            }
            var listening = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var sshd = new Process { StartInfo = startInfo };
            sshd.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is null)
                {
                    listening.TrySetException(new InvalidOperationException($"sshd exited:\n{SshdLog}"));
                    return;
                }
                lock (_sshdLog)
                {
                    _sshdLog.AppendLine(e.Data);
                }
                if (e.Data.StartsWith("Server listening on 127.0.0.1 port ", StringComparison.Ordinal))
                {
                    listening.TrySetResult();
                }
            };
            sshd.Start();
            sshd.BeginErrorReadLine();
            _sshd = sshd;
            try
            {
                await listening.Task.WaitAsync(TimeSpan.FromSeconds(20));
                return;
            }
            catch (InvalidOperationException) when (attempt < 5 && SshdLog.Contains("Address already in use", StringComparison.Ordinal))
            {
                // Another test took the port between our probe and sshd's bind: try another.
                await sshd.WaitForExitAsync();
                sshd.Dispose();
                _sshd = null;
            }
        }
    }

    private async Task WriteSshConfigsAsync()
    {
        await File.WriteAllTextAsync(Path.Combine(SshDir, "sshd_config"), $"""
            ListenAddress 127.0.0.1:{Port}
            HostKey {SshDir}/host_key
            AuthorizedKeysFile {SshDir}/authorized/%u
            PidFile none
            UsePAM no
            StrictModes no
            PermitRootLogin prohibit-password
            PubkeyAuthentication yes
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            MaxStartups 100
            SetEnv PATH={BinDir}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

            """);
        string hostKey = (await File.ReadAllTextAsync(Path.Combine(SshDir, "host_key.pub"))).Trim();
        await File.WriteAllTextAsync(Path.Combine(SshDir, "known_hosts"), $"[127.0.0.1]:{Port} {hostKey}\n");
        await File.WriteAllTextAsync(SshConfig, $"""
            Host *
              IdentityFile {SshDir}/client_key
              IdentitiesOnly yes
              UserKnownHostsFile {SshDir}/known_hosts
              GlobalKnownHostsFile /dev/null
              StrictHostKeyChecking yes
              UpdateHostKeys no
              BatchMode yes
              LogLevel ERROR

            """);
    }

    /// <summary>A loopback port nothing listened on a moment ago.</summary>
    public static int FreeLoopbackPort()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        int port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return port;
    }

    private static string MountNamespace(int pid)
    {
        try
        {
            return new FileInfo($"/proc/{pid}/ns/mnt").LinkTarget ?? "";
        }
        catch (IOException)
        {
            return "";
        }
    }

    /// <summary>Every process whose mount namespace is the host's (the anchor, sshd, sessions, what they started).</summary>
    private static List<int> ProcessesInside(string ns) =>
        Directory.EnumerateDirectories("/proc").Select(Path.GetFileName)
            .Where(p => p is not null && p.All(char.IsAsciiDigit))
            .Select(p => int.Parse(p!, System.Globalization.CultureInfo.InvariantCulture))
            .Where(pid => MountNamespace(pid) == ns)
            .ToList();

    public async ValueTask DisposeAsync()
    {
        if (_daemon is not null)
        {
            await _daemon.DisposeAsync();
        }
        // Every other process of the namespace first, the anchor last: while the anchor lives the
        // namespace does, and its inode number cannot go to a new namespace of someone else's, whose
        // processes a later pass would then take for the host's.
        string ns = _namespace;
        if (ns.Length > 0 && !_anchor.HasExited)
        {
            // Until none is left: a session may fork while we kill.
            for (int pass = 0; pass < 50 && ProcessesInside(ns).Where(pid => pid != _anchor.Id).ToList() is { Count: > 0 } left; pass++)
            {
                foreach (int pid in left)
                {
                    try
                    {
                        using var process = Process.GetProcessById(pid);
                        process.Kill();
                    }
                    catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
                    {
                        // It ended meanwhile.
                    }
                }
                await Task.Delay(20);
            }
        }
        if (!_anchor.HasExited)
        {
            _anchor.Kill();
        }
        await _anchor.WaitForExitAsync();
        _anchor.Dispose();
        if (_sshd is not null)
        {
            await _sshd.WaitForExitAsync();
            _sshd.Dispose();
        }
        // The namespace, and with it every mount over /nix, /etc and /run, is gone: only plain files are left.
        await Programs.RunChecked("rm", "-rf", "--one-file-system", Dir);
    }
}
