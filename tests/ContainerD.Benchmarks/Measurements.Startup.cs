using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using ContainerD.Contract;
using ContainerD.Testing;
using Tmds.DBus.Protocol;

namespace ContainerD.Benchmarks;

/// <summary>The daemon's own start: a boot storm of autostart containers, and re-adopting running ones.</summary>
public sealed partial class Measurements
{
    private readonly Dictionary<int, Timing> _lxcLs = [];

    /// <summary>
    /// A daemon starting with plan.Storm autostart containers, all stopped, as after a host's boot:
    /// from its exec to READY=1, and until the last of their start jobs is done, against as many
    /// `lxc-start -d` of their twins at once.
    /// </summary>
    public async Task BootStormAsync()
    {
        Progress($"boot storm: a daemon start with {plan.Storm} autostart containers");
        var names = Enumerable.Range(0, plan.Storm).Select(i => $"storm-{i:000}").ToList();
        foreach (string name in names)
        {
            await bench.JobAsync(c => c.CreateContainerAsync(name, bench.Definition(name, autostart: true)));
        }
        var raws = new List<string>();
        foreach (string name in names)
        {
            raws.Add(await bench.RawTwinAsync(name));
        }
        int repetitions = Math.Max(2, plan.Repetitions / 5);
        var ready = new List<double>();
        var allRunning = new List<double>();
        var rawStorm = new List<double>();
        for (int i = 0; i < repetitions; i++)
        {
            // In turns with ours: the twins at once, then the daemon's start.
            var timed = await Timing.OfAsync(1, () => Task.WhenAll(raws.Select(r => Programs.RunChecked("lxc-start", Raw(r, "-d")))),
                after: () => Task.WhenAll(raws.Select(r => Programs.RunChecked("lxc-stop", Raw(r, "-k")))));
            rawStorm.Add(timed.Milliseconds[0]);
            await Task.WhenAll(names.Select(n => bench.JobAsync(c => c.StopContainerAsync(n, true))));
            var started = new HashSet<string>(names, StringComparer.Ordinal);
            var allStarted = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
            using var watch = await WatchJobEndsAsync(end =>
            {
                if (end.Operation == "start" && end.Result == "done")
                {
                    lock (started)
                    {
                        if (started.Remove(end.Container) && started.Count == 0)
                        {
                            allStarted.TrySetResult(Stopwatch.GetTimestamp());
                        }
                    }
                }
            });
            var (readyAt, began) = await RestartDaemonAsync();
            long done = await allStarted.Task.WaitAsync(TimeSpan.FromMinutes(5));
            ready.Add(Stopwatch.GetElapsedTime(began, readyAt).TotalMilliseconds);
            allRunning.Add(Stopwatch.GetElapsedTime(began, done).TotalMilliseconds);
            Bench.Check((await bench.Client.ListContainersAsync()).Count(c => names.Contains(c.Name) && c.State == "running") == names.Count,
                "not every autostart container runs after the boot storm");
        }
        await Task.WhenAll(names.Select(n => bench.JobAsync(c => c.StopContainerAsync(n, true))));
        var reference = new Reference($"{plan.Storm} × `lxc-start -d` at once", new Timing(rawStorm));
        Rows.Add(new Row($"boot storm: daemon start with {plan.Storm} autostart containers → READY=1", new Timing(ready), [reference]));
        Rows.Add(new Row($"boot storm: daemon start with {plan.Storm} autostart containers → all {plan.Storm} running", new Timing(allRunning), [reference],
            Target.Ratio(1.1)));
        foreach (string name in names)
        {
            await bench.JobAsync(c => c.DestroyContainerAsync(name));
        }
    }

    /// <summary>
    /// A daemon restarted (SIGTERM, as systemctl restart) while its containers run: from its exec to
    /// READY=1, which it sends once every container is loaded and re-adopted. LXC's own way to learn
    /// the same, `lxc-ls -f` on that lxcpath, for scale.
    /// </summary>
    public async Task ReadoptionAsync(int size)
    {
        var listed = await bench.Client.ListContainersAsync();
        int running = listed.Count(c => c.State == "running");
        Progress($"re-adoption of {running} running containers");
        var ready = new List<double>();
        for (int i = 0; i < Math.Max(2, plan.Repetitions / 5); i++)
        {
            var (readyAt, began) = await RestartDaemonAsync();
            ready.Add(Stopwatch.GetElapsedTime(began, readyAt).TotalMilliseconds);
            var after = await bench.Client.ListContainersAsync();
            Bench.Check(after.Length == listed.Length && after.Count(c => c.State == "running") == running,
                $"after the restart the daemon lists {after.Length} containers, {after.Count(c => c.State == "running")} running (before: {listed.Length}, {running})");
        }
        Rows.Add(new Row($"daemon restart with {listed.Length} containers, {running} running, re-adopted → READY=1", new Timing(ready),
            _lxcLs.TryGetValue(size, out var lxcLs) ? [new("`lxc-ls -f` (same lxcpath)", lxcLs)] : [],
            running >= 1000 ? Target.Milliseconds(1000) : null));
    }

    /// <summary>Stops the daemon, starts it again with a NOTIFY_SOCKET of ours: when it began, and when its READY=1 came.</summary>
    private async Task<(long ReadyAt, long Began)> RestartDaemonAsync()
    {
        await bench.Daemon.StopAsync();
        string path = Path.Combine(bench.Daemon.Dir, "notify-" + Guid.NewGuid().ToString("N")[..8]);
        using var notify = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        notify.Bind(new UnixDomainSocketEndPoint(path));
        var readyAt = ReadyAsync(notify);
        long began = Stopwatch.GetTimestamp();
        await bench.Daemon.StartProcessAsync(new Dictionary<string, string> { ["NOTIFY_SOCKET"] = path });
        long at = await readyAt.WaitAsync(TimeSpan.FromMinutes(5));
        File.Delete(path);
        return (at, began);
    }

    private static async Task<long> ReadyAsync(Socket notify)
    {
        var buffer = new byte[4096];
        while (true)
        {
            int length = await notify.ReceiveAsync(buffer, SocketFlags.None);
            if (System.Text.Encoding.UTF8.GetString(buffer, 0, length).Split('\n').Contains("READY=1"))
            {
                return Stopwatch.GetTimestamp();
            }
        }
    }

    /// <summary>Every JobRemoved on the bus, whoever started the job (the daemon's own autostarts too).</summary>
    private Task<IDisposable> WatchJobEndsAsync(Action<JobEnd> onEnd) =>
        bench.Client.Connection.WatchSignalAsync(null, Names.ManagerPath, Names.ManagerInterface, Wire.Manager.JobRemoved,
            static (Message m, object? _) =>
            {
                var r = m.GetBodyReader();
                return new JobEnd(r.ReadUInt32(), r.ReadObjectPathAsString(), r.ReadString(), r.ReadString(), r.ReadString(), r.ReadString(), r.ReadString());
            },
            (Notification<JobEnd> n) =>
            {
                if (n.HasValue)
                {
                    onEnd(n.Value);
                }
            }, ObserverFlags.None, emitOnCapturedContext: false).AsTask();

    private static string Ms(double value) => value.ToString("0.0", CultureInfo.InvariantCulture);
}
