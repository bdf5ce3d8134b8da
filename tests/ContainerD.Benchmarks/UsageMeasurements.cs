using System.Diagnostics;
using System.Globalization;
using ContainerD.Contract;
using ContainerD.Testing;

namespace ContainerD.Benchmarks;

/// <summary>
/// What seeing the containers costs: GetUsage for one, a whole metrics scrape of N running ones
/// (over D-Bus, and `containerctl metrics` end to end), the daemon's CPU per scrape, and how much a
/// ListContainers waits while scrapes run back to back beside it.
/// </summary>
public sealed class UsageMeasurements(Bench bench, Plan plan)
{
    public List<Row> Rows { get; } = [];
    public List<string> Notes { get; } = [];

    /// <summary>Clock ticks per second of /proc/PID/stat's utime and stime (USER_HZ, 100 on Linux).</summary>
    private const double TicksPerSecond = 100;

    /// <summary>Measures with the containers there are now; running is how many of them run.</summary>
    public async Task MeasureAsync(int running, Timing idleList)
    {
        var containers = await bench.Client.ListContainersAsync();
        var up = containers.Where(c => c.State == "running").ToList();
        Bench.Check(up.Count == running, $"{running} containers should run, {up.Count} do");
        Progress($"usage and metrics, {running} running");
        if (Rows.Count == 0)
        {
            string path = up[0].Path;
            var one = await Timing.OfAsync(plan.ListCalls, async () => Bench.Check((await bench.Client.GetUsageAsync(path)).Count > 0, "GetUsage gave no figures"));
            Rows.Add(new Row("`GetUsage` round trip, one running container", one, []));
        }

        // The scrape as `containerctl metrics` makes it: everything asked at once.
        var api = await Timing.OfAsync(plan.Repetitions, () => ScrapeAsync(bench.Client));
        Rows.Add(new Row($"metrics scrape over D-Bus (`ListContainers`, {running} × `GetUsage` all sent at once, `GetJobStatistics`), {running} running", api, []));

        double before = DaemonCpuSeconds();
        var cli = await Timing.OfAsync(plan.Repetitions, async () =>
        {
            var result = await bench.Daemon.CliAsync("metrics");
            Bench.Check(result.ExitCode == 0 && result.Stdout.Contains("containerctld_up 1", StringComparison.Ordinal), $"containerctl metrics failed: {result.Stderr}");
        });
        double perScrape = (DaemonCpuSeconds() - before) / plan.Repetitions * 1000;
        Rows.Add(new Row($"`containerctl metrics`, end to end (process start included), {running} running", cli, []));
        Notes.Add(Invariant($"Daemon CPU per `containerctl metrics` scrape with {running} running: {perScrape:0.0} ms (utime + stime over {plan.Repetitions} scrapes, {1000 / TicksPerSecond:0} ms ticks; the root-disk walks those scrapes queued included)."));

        // ListContainers from another client while scrapes follow each other without a pause.
        using var stop = new CancellationTokenSource();
        int scrapes = 0;
        var scraping = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await bench.Daemon.CliAsync("metrics");
                Interlocked.Increment(ref scrapes);
            }
        });
        // Spread over the scrapes' phases: a short, varying pause between calls.
        var random = new Random(17);
        var during = await Timing.OfAsync(plan.ListCalls, () => bench.Client.ListContainersAsync(), after: () => Task.Delay(random.Next(1, 10)));
        stop.Cancel();
        await scraping;
        Rows.Add(new Row($"`ListContainers` round trip during back-to-back scrapes, {containers.Length} containers, {running} running", during,
            [new Reference("`ListContainers` with no scrape", idleList)], running >= 1000 ? Target.Milliseconds(5) : null));
        Notes.Add(Invariant($"During those {plan.ListCalls} `ListContainers` calls {scrapes} scrapes of {running} containers ran; the median call waited {during.Median - idleList.Median:0.0} ms more than with none."));
    }

    private static async Task ScrapeAsync(ContainerDClient client)
    {
        var running = (await client.ListContainersAsync()).Where(c => c.State == "running").ToList();
        var usage = running.Select(c => client.GetUsageAsync(c.Path)).ToList();
        var statistics = client.GetJobStatisticsAsync();
        await Task.WhenAll(usage);
        await statistics;
    }

    /// <summary>The daemon's CPU time so far (all its threads, the ended ones too).</summary>
    private double DaemonCpuSeconds()
    {
        string stat = File.ReadAllText($"/proc/{bench.Daemon.Pid}/stat");
        string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // After the command: field 3 (state) is [0]; utime (14) and stime (15) are [11] and [12].
        return (double.Parse(fields[11], CultureInfo.InvariantCulture) + double.Parse(fields[12], CultureInfo.InvariantCulture)) / TicksPerSecond;
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private static void Progress(string what) => Console.Error.WriteLine($"==> {what}");
}
