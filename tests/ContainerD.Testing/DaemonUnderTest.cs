using System.Diagnostics;
using System.Text;
using ContainerD.Contract;
using Tmds.DBus.Protocol;

namespace ContainerD.Testing;

/// <summary>
/// The real containerctld as its own process on a private bus, with every path in a throw-away
/// directory. Dispose stops it, kills what it left running and removes every file it made.
/// </summary>
public sealed class DaemonUnderTest : IAsyncDisposable
{
    private readonly StringBuilder _output = new();
    private Process? _process;

    public string Dir { get; }
    public string StateDir => Path.Combine(Dir, "state");
    public string DefinitionsDir => Path.Combine(Dir, "definitions");
    public string LxcPath => Path.Combine(StateDir, "lxc");
    /// <summary>Under /nix/var/nix/profiles, so profiles are GC roots as on a real host.</summary>
    public string ProfilesDir { get; }
    public string ConfigFile => Path.Combine(Dir, "config.yaml");
    public PrivateBus Bus { get; }
    public string Output { get { lock (_output) { return _output.ToString(); } } }

    /// <summary>
    /// Waits (up to a minute) for a line of the running daemon's log: the daemon writes its log off
    /// its call path and the test reads it off its own, so what it logged before an answer on the
    /// bus may reach Output after that answer. Once the daemon has exited, Output is whole.
    /// </summary>
    public async Task AssertLoggedAsync(string text)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(1);
        while (!Output.Contains(text, StringComparison.Ordinal))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"the daemon did not log \"{text}\" within a minute; its output:\n{Output}");
            }
            await Task.Delay(20);
        }
    }
    public int Pid => _process?.Id ?? 0;

    private DaemonUnderTest(PrivateBus bus, string extraConfig, string? busAddress = null)
    {
        Prerequisites.Require();
        Bus = bus;
        string id = Guid.NewGuid().ToString("N")[..10];
        Dir = Path.Combine(Path.GetTempPath(), "containerctld-test-" + id);
        ProfilesDir = Path.Combine("/nix/var/nix/profiles/containerctld-tests", id);
        Directory.CreateDirectory(Dir);
        // The container's root (an unprivileged uid) must traverse down to its rootfs.
        File.SetUnixFileMode(Dir, (UnixFileMode)0b111_001_001);
        Directory.CreateDirectory(DefinitionsDir);
        File.WriteAllText(ConfigFile, $"""
            bus: "{busAddress ?? bus.Address}"
            stateDir: {StateDir}
            definitionsDir: {DefinitionsDir}
            profilesDir: {ProfilesDir}
            runtimeDir: {Path.Combine(Dir, "run")}
            {extraConfig}
            """);
    }

    /// <summary>Starts the daemon as users get it: NativeAOT-published (test.sh publishes it before the tests run).</summary>
    /// <param name="wrapper">An argv the daemon runs under, e.g. tests/private-etc.sh --upper DIR -- (it must exec the daemon).</param>
    /// <param name="prepare">Runs before the daemon starts (e.g. to mount a small file system as its state dir).</param>
    public static async Task<DaemonUnderTest> StartAsync(string extraConfig = "", PrivateBus? bus = null, IReadOnlyList<string>? wrapper = null,
        Func<DaemonUnderTest, Task>? prepare = null)
    {
        var daemon = new DaemonUnderTest(bus ?? PrivateBus.Start(), extraConfig);
        try
        {
            if (prepare is not null)
            {
                await prepare(daemon);
            }
            await daemon.StartProcessAsync(wrapper: wrapper);
        }
        catch
        {
            await daemon.DisposeAsync();
            throw;
        }
        return daemon;
    }

    /// <summary>
    /// A daemon set up but not started (StartProcessAsync, or RunUntilExitAsync for one that must
    /// refuse to start); busAddress puts another address than the private bus's in its config.
    /// </summary>
    public static DaemonUnderTest Prepare(string extraConfig = "", PrivateBus? bus = null, string? busAddress = null) =>
        new(bus ?? PrivateBus.Start(), extraConfig, busAddress);

    /// <summary>Runs the daemon expecting it to stop by itself (it cannot start); returns its exit status.</summary>
    public async Task<int> RunUntilExitAsync(TimeSpan timeout)
    {
        StartProcess(null, null);
        return await WaitForExitAsync(timeout);
    }

    /// <summary>Starts the daemon process and waits until it answers on the bus.</summary>
    public async Task StartProcessAsync(IReadOnlyDictionary<string, string>? environment = null, string? binary = null,
        IReadOnlyList<string>? wrapper = null)
    {
        var process = StartProcess(environment, binary, wrapper);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"containerctld exited with {process.ExitCode}:\n{Output}");
            }
            try
            {
                using var client = await ConnectAsync();
                await client.ListContainersAsync();
                return;
            }
            catch (DBusErrorReplyException)
            {
                await Task.Delay(50);
            }
        }
        throw new TimeoutException($"containerctld did not answer on the bus within 60 s:\n{Output}");
    }

    private Process StartProcess(IReadOnlyDictionary<string, string>? environment, string? binary, IReadOnlyList<string>? wrapper = null)
    {
        string daemon = binary ?? Repo.PublishedDaemon;
        var startInfo = new ProcessStartInfo(wrapper is { Count: > 0 } ? wrapper[0] : daemon)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (wrapper is { Count: > 0 })
        {
            foreach (string arg in wrapper.Skip(1).Append(daemon))
            {
                startInfo.ArgumentList.Add(arg);
            }
        }
        startInfo.ArgumentList.Add("--config");
        startInfo.ArgumentList.Add(ConfigFile);
        // Test machines have no network: without this each build spends seconds retrying cache.nixos.org.
        startInfo.Environment["NIX_CONFIG"] = "substituters =";
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            startInfo.Environment[key] = value;
        }
        var process = new Process { StartInfo = startInfo };
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        return process;
    }

    /// <summary>SIGKILL, as a crash would: no clean-up code of the daemon runs.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
    }

    /// <summary>SIGTERM, as systemctl stop sends it: the daemon leaves the bus and exits; its containers keep running.</summary>
    public async Task StopAsync()
    {
        if (_process is { HasExited: false })
        {
            await Programs.RunChecked("kill", "-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
            await _process.WaitForExitAsync();
        }
    }

    /// <summary>Waits for the daemon to exit on its own (fault injection kills it).</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process!.WaitForExitAsync(cts.Token);
        // WaitForExitAsync returns at the exit; the last lines of output may still be on their way.
        _process.WaitForExit();
        return _process.ExitCode;
    }

    public Task<ContainerDClient> ConnectAsync() => ContainerDClient.ConnectAsync(Bus.Address);

    /// <summary>Runs containerctl against this daemon, the way a person would.</summary>
    public Task<CliResult> CliAsync(params string[] args) => Cli.RunAsync(["--bus", Bus.Address, .. args]);

    /// <summary>
    /// A definition that builds the example system with Nix. hostName picks the build (default: the
    /// name); args are more of the example's knobs (buildDelay, failBuild, failSwitch).
    /// </summary>
    public static string NixDefinition(string name, string variant = "1", string extra = "", string? hostName = null,
        IReadOnlyDictionary<string, string>? args = null) => $"""
        name: {name}
        system:
          nix:
            file: {Repo.Fixture("busybox-system.nix")}
            args:
              hostName: {hostName ?? name}
              variant: "{variant}"
              busybox: {Prerequisites.Busybox}
        {string.Concat((args ?? new Dictionary<string, string>()).Select(a => $"      {a.Key}: \"{a.Value}\"\n"))}stopTimeout: 10s
        {extra}
        """;

    /// <summary>
    /// What a killed daemon left mounted on the host below dir (the mounts it makes for lxc-start):
    /// gone before anything is deleted, or the delete would go down into the store and bind sources.
    /// </summary>
    public static async Task UnmountBelowAsync(string dir)
    {
        for (int pass = 0; pass < 100; pass++)
        {
            string? point = File.ReadLines("/proc/self/mountinfo")
                .Select(line => line.Split(' ')[4].Replace("\\040", " ", StringComparison.Ordinal))
                .Where(p => p == dir || p.StartsWith(dir + "/", StringComparison.Ordinal))
                .MinBy(p => p.Length);
            if (point is null)
            {
                return;
            }
            await Programs.RunChecked("umount", "--lazy", point);
        }
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process?.Dispose();
        // Containers outlive the daemon by design: stop what this test left running.
        if (Directory.Exists(LxcPath))
        {
            await Parallel.ForEachAsync(Directory.EnumerateDirectories(LxcPath), new ParallelOptions { MaxDegreeOfParallelism = 8 },
                async (dir, _) =>
                {
                    await Programs.Run("lxc-stop", "-P", LxcPath, "-n", Path.GetFileName(dir), "-k");
                    // The daemon, killed first, tears down no port forwards: its rules file says a
                    // container still has its nftables table (containerctld-NAME), which is the host's.
                    if (File.Exists(Path.Combine(dir, "forwards.nft")))
                    {
                        await Programs.Run("nft", "delete", "table", "ip", "containerctld-" + Path.GetFileName(dir));
                    }
                });
        }
        // A killed daemon leaves its lxc-monitor behind (it would die of SIGPIPE at its next event,
        // which never comes for a throw-away lxcpath): end it and LXC's monitord for this path.
        foreach (string pid in Directory.EnumerateDirectories("/proc").Select(Path.GetFileName).OfType<string>().Where(p => p.All(char.IsAsciiDigit)))
        {
            try
            {
                string[] argv = File.ReadAllText($"/proc/{pid}/cmdline").Split('\0');
                if (argv.Contains(LxcPath) && argv[0].Contains("lxc-monitor", StringComparison.Ordinal))
                {
                    Process.GetProcessById(int.Parse(pid, System.Globalization.CultureInfo.InvariantCulture)).Kill();
                }
            }
            catch (Exception e) when (e is IOException or ArgumentException or InvalidOperationException or UnauthorizedAccessException)
            {
                // It ended meanwhile.
            }
        }
        await UnmountBelowAsync(Dir);
        foreach (string dir in new[] { Dir, ProfilesDir })
        {
            if (Directory.Exists(dir))
            {
                // rm, not Directory.Delete: a container's files may have names that are not UTF-8.
                await Programs.RunChecked("rm", "-rf", "--one-file-system", dir);
            }
        }
        Bus.Dispose();
    }
}
