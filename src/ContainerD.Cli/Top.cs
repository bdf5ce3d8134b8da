using System.Diagnostics;
using System.Globalization;
using System.Text;
using ContainerD.Contract;

namespace ContainerD.Cli;

/// <summary>One line of `containerctl top`: a running container's figures, rates over the last interval (null before there is one).</summary>
public sealed record TopRow(string Name, ulong? Tasks, double? CpuPercent, ulong? CpuNSec, ulong? Memory, double? ReadPerSecond, double? WritePerSecond);

/// <summary>The pure part of `top`: rows from two samples, their order, and how they look.</summary>
public static class TopTable
{
    public static IReadOnlyList<string> SortKeys { get; } = ["cpu", "memory", "tasks", "io"];

    /// <summary>
    /// A row per container in now; rates from before where it was there too (a container that just
    /// started, or a first sample, has none). A counter that went backwards (a restart in between) gives none either.
    /// </summary>
    public static List<TopRow> Rows(IReadOnlyDictionary<string, UsageFigures> now, IReadOnlyDictionary<string, UsageFigures>? before, TimeSpan elapsed)
    {
        double seconds = elapsed.TotalSeconds;
        double? Rate(UsageFigures current, UsageFigures? previous, string key) =>
            previous?[key] is { } a && current[key] is { } b && b >= a && seconds > 0 ? (b - a) / seconds : null;
        return now.Select(c =>
        {
            var previous = before?.GetValueOrDefault(c.Key);
            double? cpu = Rate(c.Value, previous, UsageKeys.CpuUsageNSec) is { } nsPerSecond ? nsPerSecond / 1e7 : null; // % of one CPU
            return new TopRow(c.Key, c.Value[UsageKeys.TasksCurrent], cpu, c.Value[UsageKeys.CpuUsageNSec], c.Value[UsageKeys.MemoryCurrent],
                Rate(c.Value, previous, UsageKeys.IOReadBytes), Rate(c.Value, previous, UsageKeys.IOWriteBytes));
        }).ToList();
    }

    /// <summary>Largest first by the key (cpu: the rate, else the time used so far; io: read and written per second); what is unknown last; then by name.</summary>
    public static List<TopRow> Sort(IEnumerable<TopRow> rows, string key)
    {
        Func<TopRow, (double?, double?)> by = key switch
        {
            "cpu" => r => (r.CpuPercent, r.CpuNSec),
            "memory" => r => (r.Memory, null),
            "tasks" => r => (r.Tasks, null),
            "io" => r => (r.ReadPerSecond + r.WritePerSecond, null),
            _ => throw new ArgumentException($"unknown sort key '{key}'", nameof(key)),
        };
        return rows.OrderByDescending(r => by(r).Item1 ?? -1).ThenByDescending(r => by(r).Item2 ?? -1).ThenBy(r => r.Name, StringComparer.Ordinal).ToList();
    }

    /// <summary>The table, as systemd-cgtop lays it out: names left, figures right, "-" for what is not known (yet).</summary>
    public static string Render(IReadOnlyList<TopRow> rows)
    {
        var table = new List<string[]> { new[] { "NAME", "TASKS", "%CPU", "MEMORY", "READ/s", "WRITE/s" } };
        table.AddRange(rows.Select(r => new[]
        {
            r.Name,
            r.Tasks?.ToString(CultureInfo.InvariantCulture) ?? "-",
            r.CpuPercent?.ToString("0.0", CultureInfo.InvariantCulture) ?? "-",
            r.Memory is { } m ? Output.Bytes(m) : "-",
            r.ReadPerSecond is { } read ? Output.Bytes((ulong)read) : "-",
            r.WritePerSecond is { } write ? Output.Bytes((ulong)write) : "-",
        }));
        int[] widths = Enumerable.Range(0, 6).Select(c => table.Max(row => row[c].Length)).ToArray();
        var text = new StringBuilder();
        foreach (var row in table)
        {
            text.Append(row[0].PadRight(widths[0]));
            for (int c = 1; c < row.Length; c++)
            {
                text.Append("  ").Append(row[c].PadLeft(widths[c]));
            }
            text.Append('\n');
        }
        return text.ToString();
    }

    /// <summary>
    /// What one redraw shows on a terminal of width × height: the header, a blank line and as much of
    /// the table as fits, each line cut to the width, and no newline after the last one — a wrapped
    /// line or a newline on the bottom row would scroll the header off the screen.
    /// </summary>
    public static string Frame(string header, string table, int width, int height) =>
        string.Join("\n", new[] { header, "" }.Concat(table.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            .Take(height).Select(line => line.Length > width ? line[..width] : line));

    public static string Json(IReadOnlyList<TopRow> rows) => Output.Json(indented: true, json =>
    {
        json.WriteStartArray();
        foreach (var r in rows)
        {
            json.WriteStartObject();
            json.WriteString("name", r.Name);
            void Number(string name, double? value)
            {
                if (value is { } v)
                {
                    json.WriteNumber(name, Math.Round(v, 3));
                }
                else
                {
                    json.WriteNull(name);
                }
            }
            Number("tasks", r.Tasks);
            Number("cpuPercent", r.CpuPercent);
            Number("cpuUsageNSec", r.CpuNSec);
            Number("memoryBytes", r.Memory);
            Number("readBytesPerSecond", r.ReadPerSecond);
            Number("writeBytesPerSecond", r.WritePerSecond);
            json.WriteEndObject();
        }
        json.WriteEndArray();
    }) + "\n";
}

/// <summary>
/// `containerctl top`: the running containers by what they use, as systemd-cgtop shows cgroups.
/// On a terminal it redraws every interval until q or Ctrl-C; piped (or --json) it prints once,
/// after two samples an interval apart (rates need two).
/// </summary>
public static class Top
{
    public static async Task<int> RunAsync(Target target, Arguments args)
    {
        bool json = args.Flag("--json");
        string sort = args.Option("-s", "--sort") ?? "cpu";
        if (!TopTable.SortKeys.Contains(sort))
        {
            throw args.Usage($"unknown sort key '{sort}': sort by {string.Join(", ", TopTable.SortKeys.SkipLast(1))} or {TopTable.SortKeys[^1]}");
        }
        var delay = TimeSpan.FromSeconds(1);
        if (args.Option("-d", "--delay") is { } text)
        {
            delay = double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double s) && s is >= 0.1 and <= 3600
                ? TimeSpan.FromSeconds(s) : throw args.Usage($"'{text}' is not a delay: give seconds from 0.1 to 3600");
        }
        args.End();

        using var client = await target.ConnectAsync();
        Task gone = await client.WatchDaemonAsync();
        var (before, taken) = await SampleAsync(client).OrGoneAsync(gone, "top was reading the containers");
        bool live = !json && !Console.IsOutputRedirected;
        if (!live)
        {
            await Task.Delay(delay);
            var (now, at) = await SampleAsync(client).OrGoneAsync(gone, "top was reading the containers");
            var rows = TopTable.Sort(TopTable.Rows(now, before, Stopwatch.GetElapsedTime(taken, at)), sort);
            Console.Out.Write(json ? TopTable.Json(rows) : TopTable.Render(rows));
            return ExitCodes.Ok;
        }

        using var quit = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            quit.Cancel();
        };
        if (!Console.IsInputRedirected)
        {
            var keys = new Thread(() =>
            {
                while (Console.ReadKey(intercept: true).KeyChar is not ('q' or 'Q'))
                {
                }
                quit.Cancel();
            })
            { IsBackground = true };
            keys.Start();
        }
        try
        {
            Draw(TopTable.Sort(TopTable.Rows(before, null, TimeSpan.Zero), sort), sort, delay);
            while (!quit.IsCancellationRequested)
            {
                await Task.WhenAny(Task.Delay(delay, quit.Token), gone);
                if (quit.IsCancellationRequested)
                {
                    break;
                }
                var (now, at) = await SampleAsync(client).OrGoneAsync(gone, "top was showing the containers");
                Draw(TopTable.Sort(TopTable.Rows(now, before, Stopwatch.GetElapsedTime(taken, at)), sort), sort, delay);
                (before, taken) = (now, at);
            }
        }
        finally
        {
            Console.Out.Write("\x1b[?25h\n"); // the cursor back, on a line of its own below the last frame
        }
        return ExitCodes.Ok;
    }

    /// <summary>Every running container's figures, and when they were asked for.</summary>
    private static async Task<(Dictionary<string, UsageFigures> Figures, long At)> SampleAsync(ContainerDClient client)
    {
        var containers = await client.ListContainersAsync();
        long at = Stopwatch.GetTimestamp();
        return (await UsageFigures.OfRunningAsync(client, containers), at);
    }

    private static void Draw(IReadOnlyList<TopRow> rows, string sort, TimeSpan delay)
    {
        int height = Console.WindowHeight > 3 ? Console.WindowHeight : int.MaxValue;
        int width = Console.WindowWidth > 0 ? Console.WindowWidth : int.MaxValue;
        string header = string.Create(CultureInfo.InvariantCulture,
            $"containerctl top: {rows.Count} running, by {sort}, every {delay.TotalSeconds:0.#} s (q quits)");
        // Home, clear, hidden cursor; then the frame in one write, so it never shows half drawn.
        Console.Out.Write("\x1b[?25l\x1b[H\x1b[2J" + TopTable.Frame(header, TopTable.Render(rows), width, height));
    }
}
