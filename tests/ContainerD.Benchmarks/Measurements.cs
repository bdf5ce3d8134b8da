using System.Globalization;
using ContainerD.Testing;

namespace ContainerD.Benchmarks;

/// <summary>How much of everything: repetitions and counts (--quick keeps CI's run under a minute).</summary>
public sealed record Plan(int Repetitions, int[] ListSizes, int Running, int LxdListSize, int Concurrent, int Cycles, int ListCalls, int Storm, int Stops)
{
    public static Plan Quick { get; } = new(Repetitions: 3, ListSizes: [10], Running: 5, LxdListSize: 10, Concurrent: 5, Cycles: 20, ListCalls: 20,
        Storm: 5, Stops: 5);
    public static Plan Full { get; } = new(Repetitions: 15, ListSizes: [10, 100, 1000], Running: 1000, LxdListSize: 100, Concurrent: 20, Cycles: 1000,
        ListCalls: 200, Storm: 100, Stops: 100);
}

/// <summary>
/// Each figure of the report, measured side by side: ContainerD on one of its containers, raw LXC
/// on that container's twin (the same rendered config in another lxcpath), LXD when it is given.
/// </summary>
public sealed partial class Measurements(Bench bench, Lxd? lxd, Plan plan)
{
    private readonly List<string> _names = [];
    private readonly List<string> _raws = [];
    private readonly List<(string When, double Megabytes)> _rss = [];
    private (int Containers, int Running) _largest;
    private string? _runningStopped;

    public List<Row> Rows { get; } = [];
    public List<string> Notes { get; } = [];
    /// <summary>GetUsage and metrics, measured at each list size (their own part of the report).</summary>
    public UsageMeasurements Usage { get; } = new(bench, plan);

    private const int BulkBytes = 8 << 20;

    private string One => _names[0];
    private string RawOne => _raws[0];
    private string[] Raw(string name, params string[] extra) => ["-P", bench.RawLxcPath, "-n", name, .. extra];

    /// <summary>The container most figures use, with its raw twin (and an LXD one).</summary>
    public async Task PrepareAsync()
    {
        _rss.Add(("idle, no containers", bench.DaemonRssMegabytes()));
        await EnsureContainersAsync(1);
        if (lxd is not null)
        {
            await lxd.InitAsync("lxd-one");
        }
    }

    /// <summary>Containers bench-0000… up to count, each with its raw twin.</summary>
    private async Task EnsureContainersAsync(int count)
    {
        for (int i = _names.Count; i < count; i++)
        {
            string name = $"bench-{i:0000}";
            if ((await bench.Client.ListContainersAsync()).All(c => c.Name != name))
            {
                await bench.JobAsync(c => c.CreateContainerAsync(name, bench.Definition(name)));
            }
            _names.Add(name);
            _raws.Add(await bench.RawTwinAsync(name));
        }
    }

    public async Task StartAndStopAsync()
    {
        Progress("start → running");
        string unlocked = await bench.UnlockedTwinAsync(One);
        var started = await Turns.InTurnsAsync(plan.Repetitions,
            new Turn(() => bench.JobAsync(c => c.StartContainerAsync(One)), After: () => bench.JobAsync(c => c.StopContainerAsync(One, true))),
            new Turn(() => Programs.RunChecked("lxc-start", Raw(RawOne, "-d")), After: () => Programs.RunChecked("lxc-stop", Raw(RawOne, "-k"))),
            new Turn(() => Programs.RunChecked("lxc-start", Raw(unlocked, "-d")), After: () => Programs.RunChecked("lxc-stop", Raw(unlocked, "-k"))));
        var (ours, raw, floor) = (started[0], started[1], started[2]);
        // LXD after, not in turns: it is there for scale, and its daemon's work after a stop would land on the others.
        var lxdStart = lxd is null ? null : await Timing.OfAsync(plan.Repetitions, () => lxd.StartContainerAsync("lxd-one"),
            after: () => lxd.StopAsync("lxd-one", force: true));
        Rows.Add(new Row("start → running (job done, state running)", ours,
            [new("`lxc-start -d`", raw), new("`lxc-start -d` with LXC's own `lxc.mount.entry` mounts (not locked: unsafe, LXC's floor)", floor),
                .. With(null, "`lxc start` (LXD)", lxdStart)], Target.Ratio(1.05)));

        Progress("stop");
        foreach (bool force in (bool[])[false, true])
        {
            var stopped = await Turns.InTurnsAsync(plan.Repetitions,
                new Turn(() => bench.JobAsync(c => c.StopContainerAsync(One, force)), Before: () => bench.JobAsync(c => c.StartContainerAsync(One))),
                new Turn(() => Programs.RunChecked("lxc-stop", Raw(RawOne, force ? ["-k"] : [])), Before: () => Programs.RunChecked("lxc-start", Raw(RawOne, "-d"))));
            var (oursStop, rawStop) = (stopped[0], stopped[1]);
            var lxdStop = lxd is null ? null : await Timing.OfAsync(plan.Repetitions, () => lxd.StopAsync("lxd-one", force),
                before: () => lxd.StartContainerAsync("lxd-one"));
            Rows.Add(force
                ? new Row("stop --force", oursStop, With(new("`lxc-stop -k`", rawStop), "`lxc stop --force` (LXD)", lxdStop), Target.Ratio(1.05))
                : new Row("stop (init powers off)", oursStop, With(new("`lxc-stop`", rawStop), "`lxc stop` (LXD)", lxdStop)));
        }
    }

    /// <summary>
    /// A real guest: Debian's systemd as PID 1 (examples/systemd-system), from start to systemd's boot
    /// done (`systemctl is-system-running` says running or degraded, asked every 10 ms from outside),
    /// through ContainerD and through raw LXC on the same rendered config and rootfs.
    /// </summary>
    public async Task SystemdBootAsync()
    {
        Progress("systemd guest boot");
        var (exit, stdout, stderr) = await Programs.Run(Path.Combine(Repo.Root, "examples", "systemd-system", "build.sh"));
        Bench.Check(exit == 0, $"examples/systemd-system/build.sh failed: {stderr}");
        string system = stdout.Trim().Split('\n')[^1];
        const string name = "bench-systemd";
        await bench.JobAsync(c => c.CreateContainerAsync(name, $"name: {name}\nsystem: {{ path: {system} }}\nstopTimeout: 20s\n"));
        string raw = await bench.RawTwinAsync(name);
        string path = await bench.Client.GetContainerAsync(name);
        string[] systemctl = ["/nix/var/nix/profiles/system/sw/bin/systemctl", "is-system-running"];
        int repetitions = Math.Max(3, plan.Repetitions / 2);

        var ours = await Timing.OfAsync(repetitions, async () =>
        {
            await bench.JobAsync(c => c.StartContainerAsync(name));
            await BootedAsync(async () => System.Text.Encoding.UTF8.GetString(
                (await bench.Client.RunCommandAsync(path, systemctl, new Dictionary<string, string>())).Stdout));
        }, after: () => bench.JobAsync(c => c.StopContainerAsync(name, false)));
        var lxc = await Timing.OfAsync(repetitions, async () =>
        {
            await Programs.RunChecked("lxc-start", Raw(raw, "-d"));
            await BootedAsync(async () => (await Programs.Run("lxc-attach", Raw(raw, ["--clear-env", "--", .. systemctl]))).Stdout);
        }, after: () => Programs.RunChecked("lxc-stop", Raw(raw, "-t", "20")));
        Rows.Add(new Row("systemd guest: start → `is-system-running` running/degraded", ours, [new("`lxc-start -d`, same rootfs", lxc)]));
        await bench.JobAsync(c => c.DestroyContainerAsync(name));
    }

    private static async Task BootedAsync(Func<Task<string>> state)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            string now = (await state()).Trim();
            if (now is "running" or "degraded")
            {
                return;
            }
            Bench.Check(DateTime.UtcNow < deadline, $"the systemd guest did not finish booting within 60 s (last state: '{now}')");
            await Task.Delay(10);
        }
    }

    public async Task RunTrueAsync()
    {
        Progress("run true");
        // Ours and its twin run side by side (the same rootfs, each in its own namespaces), so that
        // the attaches can take turns.
        await bench.JobAsync(c => c.StartContainerAsync(One));
        await Programs.RunChecked("lxc-start", Raw(RawOne, "-d"));
        string path = await bench.Client.GetContainerAsync(One);
        var times = await Turns.InTurnsAsync(plan.Repetitions * 3,
            new Turn(async () => Bench.Check((await bench.Client.RunCommandAsync(path, ["true"], new Dictionary<string, string>())).ExitCode == 0, "true failed inside")),
            new Turn(async () => Bench.Check((await bench.Daemon.CliAsync("run", One, "--", "true")).ExitCode == 0, "containerctl run -- true failed")),
            // The CLI's own part of any command: its process, its connection and one call answered from memory.
            new Turn(async () => Bench.Check((await bench.Daemon.CliAsync("list")).ExitCode == 0, "containerctl list failed")),
            new Turn(() => Programs.RunChecked("lxc-attach", Raw(RawOne, "--clear-env", "--", "/nix/var/nix/profiles/system/sw/bin/true"))));
        var (api, cli, cliAlone, raw) = (times[0], times[1], times[2], times[3]);
        await bench.JobAsync(c => c.StopContainerAsync(One, true));
        await Programs.RunChecked("lxc-stop", Raw(RawOne, "-k"));
        Timing? lxdExec = null;
        if (lxd is not null)
        {
            await lxd.StartContainerAsync("lxd-one");
            lxdExec = await Timing.OfAsync(plan.Repetitions * 3, () => lxd.ExecTrueAsync("lxd-one"));
            await lxd.StopAsync("lxd-one", force: true);
        }
        var attach = new Reference("`lxc-attach -- true`", raw);
        // The floor of this design: what lxc-attach takes, plus the CLI's own start, connection and call (issue 20: + 1 ms).
        double floor = raw.Median + cliAlone.Median;
        Rows.Add(new Row("`containerctl run NAME -- true`, end to end", cli,
            [attach, new("`containerctl list` (the CLI's start, connection and one call)", cliAlone), .. With(null, "`lxc exec NAME -- true` (LXD)", lxdExec)],
            Target.Milliseconds(floor + 1)));
        Rows.Add(new Row("`RunCommand([\"true\"])` over D-Bus", api, [attach], Target.Ratio(1.5)));

        Notes.Add(Invariant($"`containerctl run -- true`: the floor of the design is `lxc-attach` ({raw.Median:0.0} ms) + the CLI's start, connection and one call (`containerctl list`, {cliAlone.Median:0.0} ms) = {floor:0.0} ms; run took {cli.Median:0.0} ms, {cli.Median - floor:+0.0;-0.0} ms from it (medians)."));
    }

    public async Task CreateAndDestroyAsync()
    {
        Progress("create + destroy");
        var createTurn = new Turn(() => bench.JobAsync(c => c.CreateContainerAsync("bench-tmp", bench.Definition("bench-tmp"))),
            After: async () =>
            {
                await bench.JobAsync(c => c.DestroyContainerAsync("bench-tmp"));
                await Bench.SettleAsync();
            });
        var destroyTurn = new Turn(() => bench.JobAsync(c => c.DestroyContainerAsync("bench-tmp")),
            Before: async () =>
            {
                await bench.JobAsync(c => c.CreateContainerAsync("bench-tmp", bench.Definition("bench-tmp")));
                await Bench.SettleAsync();
            });
        Timing create, destroy;
        Timing? lxdInit = null, lxdDelete = null;
        if (lxd is null)
        {
            (create, destroy) = (await Timing.OfAsync(plan.Repetitions, createTurn.Run, after: createTurn.After),
                await Timing.OfAsync(plan.Repetitions, destroyTurn.Run, destroyTurn.Before));
        }
        else
        {
            // LXD is what create is judged against: in turns with it.
            var inits = await Turns.InTurnsAsync(plan.Repetitions, createTurn,
                new Turn(() => lxd.InitAsync("lxd-tmp"), After: () => lxd.DeleteAsync("lxd-tmp")));
            var deletes = await Turns.InTurnsAsync(plan.Repetitions, destroyTurn,
                new Turn(() => lxd.DeleteAsync("lxd-tmp"), Before: () => lxd.InitAsync("lxd-tmp")));
            (create, lxdInit, destroy, lxdDelete) = (inits[0], inits[1], deletes[0], deletes[1]);
        }
        Rows.Add(new Row("create from a prebuilt system path (no Nix build)", create, With(null, "`lxc init` from a local image (LXD)", lxdInit), Target.Ratio(0.5)));
        Rows.Add(new Row("destroy (stopped container)", destroy, With(null, "`lxc delete` (LXD)", lxdDelete)));
        if (lxd is not null)
        {
            var launch = await Timing.OfAsync(plan.Repetitions, () => lxd.LaunchAsync("lxd-tmp"), after: () => lxd.DeleteAsync("lxd-tmp", force: true));
            var createStart = await Timing.OfAsync(plan.Repetitions, async () =>
            {
                await bench.JobAsync(c => c.CreateContainerAsync("bench-tmp", bench.Definition("bench-tmp")));
                await bench.JobAsync(c => c.StartContainerAsync("bench-tmp"));
            }, after: () => bench.JobAsync(c => c.DestroyContainerAsync("bench-tmp")));
            Rows.Add(new Row("create + start (as `lxc launch`)", createStart, [new("`lxc launch` (LXD)", launch)]));
        }
    }

    public async Task ConcurrentStartAsync()
    {
        Progress($"{plan.Concurrent} concurrent starts");
        await EnsureContainersAsync(plan.Concurrent);
        var names = _names.Take(plan.Concurrent).ToList();
        var raws = _raws.Take(plan.Concurrent).ToList();
        await Task.WhenAll(names.Select(n => bench.JobAsync(c => c.StopContainerAsync(n, true))));
        int repetitions = Math.Max(2, plan.Repetitions / 3);
        var times = await Turns.InTurnsAsync(repetitions,
            new Turn(() => Task.WhenAll(names.Select(n => bench.JobAsync(c => c.StartContainerAsync(n)))),
                After: () => Task.WhenAll(names.Select(n => bench.JobAsync(c => c.StopContainerAsync(n, true))))),
            new Turn(() => Task.WhenAll(raws.Select(r => Programs.RunChecked("lxc-start", Raw(r, "-d")))),
                After: () => Task.WhenAll(raws.Select(r => Programs.RunChecked("lxc-stop", Raw(r, "-k"))))));
        var (ours, raw) = (times[0], times[1]);
        Rows.Add(new Row($"{plan.Concurrent} containers started at once", ours, [new($"{plan.Concurrent} × `lxc-start -d` in parallel", raw)], Target.Ratio(1.0)));
    }

    /// <summary>Lists, and the daemon's memory, with `size` containers defined and up to the plan's count running.</summary>
    public async Task ListAsync(int size)
    {
        Progress($"{size} containers");
        var (listed, running) = await EnsureRunningAsync(size);

        var list = await Timing.OfAsync(plan.ListCalls, () => bench.Client.ListContainersAsync());
        var lxcLs = await Timing.OfAsync(Math.Max(3, plan.Repetitions / 3), () => Programs.RunChecked("lxc-ls", "-P", bench.Daemon.LxcPath, "-f"));
        _lxcLs[size] = lxcLs;
        Timing? lxdList = null;
        if (lxd is not null && size <= plan.LxdListSize)
        {
            await lxd.PopulateAsync(listed.Length, running);
            lxdList = await Timing.OfAsync(Math.Max(3, plan.Repetitions / 3), lxd.ListAsync);
        }
        Rows.Add(new Row($"`ListContainers` round trip, {listed.Length} containers, {running} running", list,
            With(new("`lxc-ls -f` (same lxcpath)", lxcLs), "`lxc list` (LXD, same counts)", lxdList), size >= 1000 ? Target.Milliseconds(10) : null));
        if (size == plan.ListSizes[0])
        {
            var cli = await Timing.OfAsync(plan.ListCalls, async () => Bench.Check((await bench.Daemon.CliAsync("list")).ExitCode == 0, "containerctl list failed"));
            Rows.Add(new Row($"`containerctl list`, end to end (process start included), {listed.Length} containers", cli,
                With(new("`lxc-ls -f`", lxcLs), "`lxc list` (LXD)", lxdList), Target.Milliseconds(30)));
        }
        await Task.Delay(1000); // let the daemon settle before reading its memory
        _rss.Add(($"{listed.Length} containers, {running} running", bench.DaemonRssMegabytes()));
        if (lxd is not null && size <= plan.LxdListSize)
        {
            Notes.Add(Invariant($"LXD's daemon (lxd) with {listed.Length} containers, {running} running: {lxd.DaemonRssMegabytes():0.0} MB resident (ContainerD: {_rss[^1].Megabytes:0.0} MB)."));
        }
        await Usage.MeasureAsync(running, list);
    }

    /// <summary>
    /// `./bench.sh --usage`: only what seeing the containers costs, with each of the plan's list
    /// sizes defined and up to its count running.
    /// </summary>
    public async Task UsageOnlyAsync()
    {
        foreach (int size in plan.ListSizes)
        {
            Progress($"{size} containers");
            var (_, running) = await EnsureRunningAsync(size);
            await Usage.MeasureAsync(running, await Timing.OfAsync(plan.ListCalls, () => bench.Client.ListContainersAsync()));
        }
    }

    /// <summary>Creates containers up to size and starts up to the plan's count; where the machine refuses more, says so and goes on.</summary>
    private async Task<(ContainerD.Contract.ContainerSummary[] Listed, int Running)> EnsureRunningAsync(int size)
    {
        var all = (await bench.Client.ListContainersAsync()).Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
        for (int i = 0; all.Count < size; i++)
        {
            string name = $"bench-{i:0000}";
            if (all.Add(name))
            {
                await bench.JobAsync(c => c.CreateContainerAsync(name, bench.Definition(name)));
            }
        }
        // Start up to the plan's count; where the machine refuses more, say so and go on with what runs.
        var stopped = (await bench.Client.ListContainersAsync()).OrderBy(c => c.Name, StringComparer.Ordinal).Take(plan.Running).Where(c => c.State != "running");
        foreach (var batch in stopped.Chunk(10))
        {
            if (_runningStopped is not null)
            {
                break;
            }
            var ends = await Task.WhenAll(batch.Select(c => bench.Client.RunJobAsync(x => x.StartContainerAsync(c.Name))));
            if (ends.FirstOrDefault(e => !e.Succeeded) is { } failed)
            {
                _runningStopped = $"starting container {failed.Container} failed: {failed.Message}";
            }
        }
        var listed = await bench.Client.ListContainersAsync();
        int running = listed.Count(c => c.State == "running");
        _largest = (listed.Length, running);
        return (listed, running);
    }

    /// <summary>
    /// Start/stop cycles on one container, for a leak: the daemon's memory after a tenth of them (its
    /// heap and code have grown to their working size by then) against after all of them.
    /// </summary>
    public async Task CyclesAsync()
    {
        Progress($"{plan.Cycles} start/stop cycles");
        await bench.JobAsync(c => c.StopContainerAsync(One, true));
        int warmUp = plan.Cycles / 10;
        double before = 0;
        for (int i = 0; i < plan.Cycles; i++)
        {
            if (i == warmUp)
            {
                before = bench.DaemonRssMegabytes();
            }
            await bench.JobAsync(c => c.StartContainerAsync(One));
            await bench.JobAsync(c => c.StopContainerAsync(One, true));
        }
        await Task.Delay(1000);
        double after = bench.DaemonRssMegabytes();
        _rss.Add(($"after {warmUp} start/stop cycles", before));
        _rss.Add(($"after {plan.Cycles}", after));

        Notes.Add(_runningStopped is null
            ? Invariant($"At most {_largest.Running} of {_largest.Containers} containers ran at once, as many as the plan asked for ({plan.Running}).")
            : Invariant($"Running containers stopped at {_largest.Running} of the {plan.Running} asked for: {_runningStopped}."));
        Notes.Add("ContainerD's daemon, resident memory (VmRSS): " + string.Join("; ", _rss.Select(r => Invariant($"{r.When}: {r.Megabytes:0.0} MB"))) + ".");
        double largest = _rss.Max(r => r.Megabytes);
        Notes.Add(Invariant($"Target ≤ 80 MB with {_largest.Containers} containers: {(largest <= 80 ? "met" : "**not met**")} (largest {largest:0.0} MB). ")
            + Invariant($"Growth from cycle {warmUp} to {plan.Cycles}: {after - before:+0.0;-0.0;0.0} MB ({(plan.Cycles < 100 ? "too few cycles to judge a leak" : after - before <= 5 ? "none beyond noise, target met" : "**growth**")})."));
    }

    /// <summary>
    /// containerctl -H on a second host (ContainerD.Testing.SecondHost: its own store, bus and daemon,
    /// an sshd on loopback): what ssh and systemd-stdio-bridge add to a command, against the same
    /// command on that daemon's bus directly; with ssh's connection sharing (ControlMaster) too; and
    /// a push of a closure the host already has, against the same create without the push.
    /// </summary>
    public async Task RemoteAsync()
    {
        Progress("other host: -H list, run, push");
        await using var host = await SecondHost.StartAsync();
        await host.CopyToAsync(bench.System);
        using var there = await host.Daemon.ConnectAsync();
        const string name = "bench-far";
        await JobThereAsync(there, c => c.CreateContainerAsync(name, bench.Definition(name)));
        await JobThereAsync(there, c => c.StartContainerAsync(name));
        string[] bus = ["--bus", host.Daemon.Bus.Address];
        int calls = Math.Max(5, plan.ListCalls / 2);
        async Task CliOk(Task<CliResult> run, string what)
        {
            var result = await run;
            Bench.Check(result.ExitCode == 0, $"{what} failed: {result}");
        }

        var localList = await Timing.OfAsync(calls, () => CliOk(Cli.RunAsync([.. bus, "list"]), "containerctl list"));
        var remoteList = await Timing.OfAsync(calls, () => CliOk(host.CliAsync("list"), "containerctl -H list"));
        var localRun = await Timing.OfAsync(calls, () => CliOk(Cli.RunAsync([.. bus, "run", name, "--", "true"]), "containerctl run"));
        var remoteRun = await Timing.OfAsync(calls, () => CliOk(host.CliAsync("run", name, "--", "true"), "containerctl -H run"));
        // What the connection and the remote user's shell cost alone, whatever runs in them.
        string[] ssh = ["-F", host.SshConfig, "-p", host.Port.ToString(CultureInfo.InvariantCulture), "root@127.0.0.1", "true"];
        var sshTrue = await Timing.OfAsync(calls, () => Programs.RunChecked("ssh", ssh));

        // ssh's connection sharing, as a user would set it up: one master, each command a new session on it.
        string shared = Path.Combine(host.SshDir, "shared_config");
        await File.WriteAllTextAsync(shared, await File.ReadAllTextAsync(host.SshConfig)
            + $"  ControlMaster auto\n  ControlPath {host.SshDir}/master-%C\n  ControlPersist 60\n");
        Timing sharedList, sharedRun, sharedTrue;
        try
        {
            string[] viaShared = ["-H", host.Spec(), "--ssh-config", shared, .. bus];
            await CliOk(Cli.RunAsync([.. viaShared, "list"]), "containerctl -H list (shared connection)");
            sharedList = await Timing.OfAsync(calls, () => CliOk(Cli.RunAsync([.. viaShared, "list"]), "containerctl -H list (shared connection)"));
            sharedRun = await Timing.OfAsync(calls, () => CliOk(Cli.RunAsync([.. viaShared, "run", name, "--", "true"]), "containerctl -H run (shared connection)"));
            sharedTrue = await Timing.OfAsync(calls, () => Programs.RunChecked("ssh", ["-F", shared, .. ssh[2..]]));
        }
        finally
        {
            // The master outlives the commands (ControlPersist): end it, it is no process of the host's.
            await Programs.Run("ssh", "-F", shared, "-p", host.Port.ToString(CultureInfo.InvariantCulture), "-O", "exit", "root@127.0.0.1");
        }
        Rows.Add(new Row("`containerctl -H HOST list` (ssh to loopback + systemd-stdio-bridge)", remoteList,
            [new("`containerctl list` on that daemon's bus", localList), new("`ssh HOST true` (connection and remote shell alone)", sshTrue)]));
        Rows.Add(new Row("`containerctl -H HOST run NAME -- true`", remoteRun,
            [new("`containerctl run NAME -- true` on that daemon's bus", localRun), new("`ssh HOST true`", sshTrue)]));
        Rows.Add(new Row("`containerctl -H HOST list`, ssh's ControlMaster connection shared", sharedList,
            [new("`ssh HOST true`, connection shared", sharedTrue)]));
        Rows.Add(new Row("`containerctl -H HOST run NAME -- true`, ssh's connection shared", sharedRun,
            [new("`ssh HOST true`, connection shared", sharedTrue)]));

        // Push when the host has the whole closure: nix-copy-closure finds nothing missing.
        int repetitions = Math.Max(3, plan.Repetitions / 2);
        Task Destroy() => JobThereAsync(there, c => c.DestroyContainerAsync("bench-push"));
        var pushed = await Timing.OfAsync(repetitions, async () =>
        {
            var result = await host.CliAsync("create", "bench-push", "--system", bench.System);
            Bench.Check(result.ExitCode == 0 && result.Stdout.Contains("push: 0 of ", StringComparison.Ordinal), $"the push copied something or failed: {result}");
        }, after: Destroy);
        var unpushed = await Timing.OfAsync(repetitions, () => CliOk(host.CliAsync("create", "bench-push", "--system", bench.System, "--build-on", "remote"),
            "containerctl -H create --build-on remote"), after: Destroy);
        var copy = await Timing.OfAsync(repetitions, () => Programs.RunCheckedWith(host.NixSshOptions(), null, "nix-copy-closure", "--to", "root@127.0.0.1", bench.System));
        Rows.Add(new Row("`containerctl -H HOST create --system PATH`, the host has the closure (push: 0 paths copied)", pushed,
            [new("the same create without a push (`--build-on remote`)", unpushed), new("`nix-copy-closure --to` alone", copy)]));
        await JobThereAsync(there, c => c.DestroyContainerAsync(name));
        await new CopyMeasurements(bench, host, repetitions, plan == Plan.Quick ? 200 : 10_000, Rows, Notes).RunAsync();
    }

    private static async Task JobThereAsync(ContainerD.Contract.ContainerDClient client, Func<ContainerD.Contract.ContainerDClient, Task<string>> start)
    {
        var end = await client.RunJobAsync(start);
        Bench.Check(end.Succeeded, $"{end.Operation} {end.Container} {end.Result}: {end.Message}");
    }

    /// <summary>
    /// What copying a command's output through the daemon and the bus costs: RunCommand returns it in
    /// its reply. Last, after the memory figures: the daemon's heap keeps the room that output took.
    /// </summary>
    public async Task BulkOutputAsync()
    {
        Progress($"RunCommand of {BulkBytes >> 20} MiB of output");
        string[] bulk = ["head", "-c", BulkBytes.ToString(CultureInfo.InvariantCulture), "/dev/zero"];
        await bench.JobAsync(c => c.StartContainerAsync(One));
        await Programs.RunChecked("lxc-start", Raw(RawOne, "-d"));
        string path = await bench.Client.GetContainerAsync(One);
        var times = await Turns.InTurnsAsync(plan.Repetitions,
            new Turn(async () => Bench.Check((await bench.Client.RunCommandAsync(path, bulk, new Dictionary<string, string>())).Stdout.Length == BulkBytes,
                "head -c gave less")),
            new Turn(async () => Bench.Check((await Programs.RunChecked("lxc-attach",
                Raw(RawOne, ["--clear-env", "--", "/nix/var/nix/profiles/system/sw/bin/head", .. bulk[1..]]))).Length == BulkBytes, "head -c gave less")));
        var (api, raw) = (times[0], times[1]);
        Notes.Add(Invariant($"After RunCommand returned {BulkBytes >> 20} MiB {plan.Repetitions} times, the daemon holds {bench.DaemonRssMegabytes():0.0} MB (its heap keeps the room)."));
        await bench.JobAsync(c => c.StopContainerAsync(One, true));
        await Programs.RunChecked("lxc-stop", Raw(RawOne, "-k"));
        Rows.Add(new Row($"`RunCommand` of {BulkBytes >> 20} MiB of output (`head -c`), returned in the reply", api,
            [new("`lxc-attach` of the same, read from its pipe", raw)]));
    }

    private static IReadOnlyList<Reference> With(Reference? raw, string lxdName, Timing? lxdTime) =>
        [.. raw is null ? [] : new[] { raw }, .. lxdTime is null ? [] : new[] { new Reference(lxdName, lxdTime) }];

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private static void Progress(string what) => Console.Error.WriteLine($"==> {what}");
}
