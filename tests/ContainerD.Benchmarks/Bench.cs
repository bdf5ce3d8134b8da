using System.Globalization;
using ContainerD.Contract;
using ContainerD.Testing;

namespace ContainerD.Benchmarks;

/// <summary>
/// A throw-away world for one benchmark run: the published containerctld on a private bus with its
/// own state dir, lxcpath and profiles dir, plus a second lxcpath for raw LXC. Every container the
/// run made is killed and every file removed at the end.
/// </summary>
public sealed class Bench : IAsyncDisposable
{
    private Bench(DaemonUnderTest daemon, ContainerDClient client, string system)
    {
        (Daemon, Client, System) = (daemon, client, system);
    }

    public DaemonUnderTest Daemon { get; }
    public ContainerDClient Client { get; }
    /// <summary>The system every container boots, built once: a create then needs no Nix build.</summary>
    public string System { get; }
    public string RawLxcPath => Path.Combine(Daemon.Dir, "raw");

    public static async Task<Bench> StartAsync()
    {
        var daemon = await DaemonUnderTest.StartAsync();
        try
        {
            Directory.CreateDirectory(Path.Combine(daemon.Dir, "raw"));
            var (exit, stdout, stderr) = await Programs.RunWith(new Dictionary<string, string> { ["NIX_CONFIG"] = "substituters =" }, null,
                "nix-build", Path.Combine(Repo.Root, "examples", "busybox-system.nix"), "--argstr", "hostName", "bench",
                "--argstr", "busybox", Prerequisites.Busybox, "--out-link", Path.Combine(daemon.Dir, "system"));
            if (exit != 0)
            {
                throw new InvalidOperationException($"nix-build of the example system failed: {stderr}");
            }
            var client = await daemon.ConnectAsync();
            await client.WatchJobsAsync();
            return new Bench(daemon, client, stdout.Trim());
        }
        catch
        {
            await daemon.DisposeAsync();
            throw;
        }
    }

    public string Definition(string name, bool autostart = false, string? system = null, string extra = "") =>
        $"name: {name}\nsystem: {{ path: {system ?? System} }}\nautostart: {(autostart ? "true" : "false")}\nstopTimeout: 10s\n{extra}";

    /// <summary>The example system's other variant, built once: an update to it needs no Nix build.</summary>
    public async Task<string> SecondSystemAsync()
    {
        var (exit, stdout, stderr) = await Programs.RunWith(new Dictionary<string, string> { ["NIX_CONFIG"] = "substituters =" }, null,
            "nix-build", Path.Combine(Repo.Root, "examples", "busybox-system.nix"), "--argstr", "hostName", "bench", "--argstr", "variant", "2",
            "--argstr", "busybox", Prerequisites.Busybox, "--out-link", Path.Combine(Daemon.Dir, "system-2"));
        return exit == 0 ? stdout.Trim() : throw new InvalidOperationException($"nix-build of the example system's variant 2 failed: {stderr}");
    }

    /// <summary>
    /// After a job that takes the daemon's spare nix-store (create, update), the next one starts
    /// beside it (~17 ms of CPU): waited out, so that it never lands in the other side's turn.
    /// </summary>
    public static Task SettleAsync() => Task.Delay(TimeSpan.FromMilliseconds(60));

    /// <summary>A benchmark of failures measures nothing: what went wrong ends the run, saying what.</summary>
    public static void Check(bool ok, string what)
    {
        if (!ok)
        {
            throw new InvalidOperationException(what);
        }
    }

    /// <summary>Runs a job and fails loudly if it does not succeed: a benchmark of failures measures nothing.</summary>
    public async Task JobAsync(Func<ContainerDClient, Task<string>> start)
    {
        var end = await Client.RunJobAsync(start);
        if (!end.Succeeded)
        {
            throw new InvalidOperationException($"{end.Operation} {end.Container} {end.Result}: {end.Message}");
        }
    }

    /// <summary>A stopped container whose root holds that many small files (/data/f0 …); returns its rootfs on the host.</summary>
    public async Task<string> StoppedWithFilesAsync(string name, int files)
    {
        await JobAsync(c => c.CreateContainerAsync(name, Definition(name)));
        await JobAsync(c => c.StartContainerAsync(name));
        string path = await Client.GetContainerAsync(name);
        var made = await Client.RunCommandAsync(path, ["sh", "-c",
            $"mkdir -p /data && i=0; while [ $i -lt {files} ]; do echo $i > /data/f$i; i=$((i+1)); done"], new Dictionary<string, string>());
        if (made.ExitCode != 0)
        {
            throw new InvalidOperationException("could not fill the root: " + global::System.Text.Encoding.UTF8.GetString(made.Stderr));
        }
        await JobAsync(c => c.StopContainerAsync(name, true));
        return Path.Combine(Daemon.StateDir, "containers", name, "rootfs");
    }

    /// <summary>
    /// The raw-LXC twin of one of our containers: the very config file the daemon rendered, in another
    /// lxcpath. With profileDir, its mount plan mounts that profile instead of ours (a twin whose
    /// profile is changed by hand).
    /// </summary>
    public async Task<string> RawTwinAsync(string ours, string? profileDir = null)
    {
        string raw = "raw-" + ours;
        string dir = Path.Combine(RawLxcPath, raw);
        string config = await File.ReadAllTextAsync(Path.Combine(Daemon.LxcPath, ours, "config"));
        Directory.CreateDirectory(dir);
        config = config.Replace($"lxc.uts.name = {ours}\n", $"lxc.uts.name = {raw}\n", StringComparison.Ordinal)
            .Replace(Path.Combine(Daemon.LxcPath, ours), dir, StringComparison.Ordinal);
        await File.WriteAllTextAsync(Path.Combine(dir, "config"), config);
        // The mount plan its pre-start hook reads (the config names it in the twin's dir).
        string plan = await File.ReadAllTextAsync(Path.Combine(Daemon.LxcPath, ours, "mounts"));
        if (profileDir is not null)
        {
            plan = plan.Replace($"\t{Path.Combine(Daemon.ProfilesDir, ours)}\t", $"\t{profileDir}\t", StringComparison.Ordinal);
        }
        await File.WriteAllTextAsync(Path.Combine(dir, "mounts"), plan);
        return raw;
    }

    /// <summary>
    /// LXC's floor, not a way to run containers: the twin with LXC's own lxc.mount.entry lines for
    /// the mount plan instead of the hooks. LXC makes those inside the container's namespace, where
    /// its root can remount them writable — what ContainerD's mounts exist to prevent.
    /// </summary>
    public async Task<string> UnlockedTwinAsync(string ours)
    {
        string raw = "unlocked-" + ours;
        string dir = Path.Combine(RawLxcPath, raw);
        Directory.CreateDirectory(dir);
        var config = (await File.ReadAllLinesAsync(Path.Combine(Daemon.LxcPath, ours, "config")))
            .Where(l => !l.StartsWith("lxc.hook.", StringComparison.Ordinal))
            .Select(l => l == $"lxc.uts.name = {ours}" ? $"lxc.uts.name = {raw}" : l.Replace(Path.Combine(Daemon.LxcPath, ours), dir, StringComparison.Ordinal))
            .ToList();
        foreach (string[] mount in (await File.ReadAllLinesAsync(Path.Combine(Daemon.LxcPath, ours, "mounts"))).Select(l => l.Split('\t')).Where(f => f[0] == "mount"))
        {
            // mount SOURCE TARGET ro|rw none|preferred|required …
            string options = "bind" + (mount[3] == "ro" ? ",ro" : "") + (mount[4] == "none" ? "" : ",idmap=container") + ",create=dir";
            config.Add($"lxc.mount.entry = {mount[1]} {mount[2].TrimStart('/')} none {options} 0 0");
        }
        await File.WriteAllLinesAsync(Path.Combine(dir, "config"), config);
        return raw;
    }

    /// <summary>Resident memory of the daemon (VmRSS), in MB.</summary>
    public double DaemonRssMegabytes() => RssMegabytes(Daemon.Pid);

    public static double RssMegabytes(int pid)
    {
        string line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0;
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Parallel.ForEachAsync(Directory.EnumerateDirectories(RawLxcPath), new ParallelOptions { MaxDegreeOfParallelism = 8 },
            async (dir, _) => await Programs.Run("lxc-stop", "-P", RawLxcPath, "-n", Path.GetFileName(dir), "-k"));
        await Daemon.DisposeAsync();
    }
}
