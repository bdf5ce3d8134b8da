using System.Globalization;
using System.Text;
using ContainerD.Contract;

namespace ContainerD.Cli;

/// <summary>What one scrape read from the daemon: the containers, the running ones' figures, the jobs.</summary>
public sealed record MetricsInput(
    IReadOnlyList<ContainerSummary> Containers,
    IReadOnlyDictionary<string, UsageFigures> Usage,
    double[] JobBounds,
    IReadOnlyList<JobStatisticsRow> JobStatistics,
    IReadOnlyList<JobSummary> RunningJobs);

/// <summary>
/// The Prometheus text exposition format (0.0.4, what node_exporter's textfile collector and
/// `promtool check metrics` read): every family with HELP and TYPE, base units (seconds, bytes),
/// counters ending in _total, no timestamps. A figure the daemon left out is no sample at all.
/// </summary>
public static class MetricsText
{
    private const string Prefix = "containerctld_";

    /// <summary>The container metrics from GetUsage: name, type, help, the key and what it is divided by for base units.</summary>
    private static readonly (string Name, string Type, string Help, string Key, double Divisor)[] UsageFamilies =
    [
        ("container_cpu_seconds_total", "counter", "CPU time the container's processes used.", UsageKeys.CpuUsageNSec, 1e9),
        ("container_memory_bytes", "gauge", "Memory the container uses now (its cgroup's).", UsageKeys.MemoryCurrent, 1),
        ("container_memory_peak_bytes", "gauge", "The most memory the container used since it started.", UsageKeys.MemoryPeak, 1),
        ("container_memory_max_bytes", "gauge", "The container's memory limit, where it has one.", UsageKeys.MemoryMax, 1),
        ("container_swap_bytes", "gauge", "Swap the container uses, where the host accounts it.", UsageKeys.MemorySwapCurrent, 1),
        ("container_swap_max_bytes", "gauge", "The container's swap limit, where it has one.", UsageKeys.MemorySwapMax, 1),
        ("container_tasks", "gauge", "Tasks (processes and threads) in the container.", UsageKeys.TasksCurrent, 1),
        ("container_tasks_max", "gauge", "The container's task limit, where it has one.", UsageKeys.TasksMax, 1),
        ("container_io_read_bytes_total", "counter", "Bytes the container read from block devices.", UsageKeys.IOReadBytes, 1),
        ("container_io_write_bytes_total", "counter", "Bytes the container wrote to block devices, as its cgroup is charged.", UsageKeys.IOWriteBytes, 1),
        ("container_root_disk_bytes", "gauge", "Disk space the container's writable root takes, as last measured.", UsageKeys.RootDiskBytes, 1),
    ];

    private static readonly (string Name, string Help, Func<InterfaceFigures, ulong> Value)[] NetworkFamilies =
    [
        ("container_network_receive_bytes_total", "Bytes the container received on the interface.", i => i.RxBytes),
        ("container_network_receive_packets_total", "Packets the container received on the interface.", i => i.RxPackets),
        ("container_network_transmit_bytes_total", "Bytes the container sent on the interface.", i => i.TxBytes),
        ("container_network_transmit_packets_total", "Packets the container sent on the interface.", i => i.TxPackets),
    ];

    public static string Render(MetricsInput input)
    {
        var text = new StringBuilder();
        Family(text, "up", "gauge", "Whether containerctl metrics could read the daemon (1) or not (0).");
        Sample(text, "up", "", 1);

        var containers = input.Containers.OrderBy(c => c.Name, StringComparer.Ordinal).ToList();
        Family(text, "containers", "gauge", "Containers the daemon has, by state.");
        // Every state, 0 where no container is in it: a series that vanished at 0 would hide from an
        // alert on fewer running containers exactly when none runs.
        foreach (string state in ContainerStates.All.Concat(containers.Select(c => c.State)).Distinct().Order(StringComparer.Ordinal))
        {
            Sample(text, "containers", Labels(("state", state)), containers.Count(c => c.State == state));
        }
        Family(text, "container_state", "gauge", "1 for each container, labelled with its state.");
        foreach (var c in containers)
        {
            Sample(text, "container_state", Labels(("name", c.Name), ("state", c.State)), 1);
        }
        Family(text, "container_generation", "gauge", "The generation of the container's system profile.");
        foreach (var c in containers)
        {
            Sample(text, "container_generation", Labels(("name", c.Name)), c.Generation);
        }

        var usage = containers.Where(c => input.Usage.ContainsKey(c.Name)).Select(c => (c.Name, Figures: input.Usage[c.Name])).ToList();
        foreach (var (name, type, help, key, divisor) in UsageFamilies)
        {
            var samples = usage.Where(u => u.Figures[key] is not null).ToList();
            if (samples.Count == 0)
            {
                continue;
            }
            Family(text, name, type, help);
            foreach (var u in samples)
            {
                Sample(text, name, Labels(("name", u.Name)), u.Figures[key]!.Value / divisor);
            }
        }
        foreach (var (name, help, value) in NetworkFamilies)
        {
            var samples = usage.SelectMany(u => u.Figures.Interfaces.Select(i => (u.Name, Interface: i))).ToList();
            if (samples.Count == 0)
            {
                continue;
            }
            Family(text, name, "counter", help);
            foreach (var (container, i) in samples)
            {
                Sample(text, name, Labels(("name", container), ("interface", i.Name)), value(i));
            }
        }

        Family(text, "jobs_running", "gauge", "Jobs running now, by operation.");
        foreach (var group in input.RunningJobs.GroupBy(j => j.Operation).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            Sample(text, "jobs_running", Labels(("operation", group.Key)), group.Count());
        }
        var rows = input.JobStatistics.OrderBy(r => r.Operation, StringComparer.Ordinal).ThenBy(r => r.Result, StringComparer.Ordinal).ToList();
        Family(text, "jobs_total", "counter", "Jobs that ended since the daemon started, by operation and result.");
        foreach (var r in rows)
        {
            Sample(text, "jobs_total", Labels(("operation", r.Operation), ("result", r.Result)), r.Count);
        }
        Family(text, "job_duration_seconds", "histogram", "How long the jobs that ended took, by operation and result.");
        foreach (var r in rows)
        {
            for (int i = 0; i < input.JobBounds.Length && i < r.Buckets.Length; i++)
            {
                Sample(text, "job_duration_seconds_bucket", Labels(("operation", r.Operation), ("result", r.Result), ("le", Number(input.JobBounds[i]))), r.Buckets[i]);
            }
            Sample(text, "job_duration_seconds_bucket", Labels(("operation", r.Operation), ("result", r.Result), ("le", "+Inf")), r.Count);
            Sample(text, "job_duration_seconds_sum", Labels(("operation", r.Operation), ("result", r.Result)), r.Seconds);
            Sample(text, "job_duration_seconds_count", Labels(("operation", r.Operation), ("result", r.Result)), r.Count);
        }
        return text.ToString();
    }

    /// <summary>What a scrape writes when the daemon cannot be read: up 0, and nothing that could be stale.</summary>
    public static string Down()
    {
        var text = new StringBuilder();
        Family(text, "up", "gauge", "Whether containerctl metrics could read the daemon (1) or not (0).");
        Sample(text, "up", "", 0);
        return text.ToString();
    }

    /// <summary>A label value as the format escapes it: backslash, double quote and newline.</summary>
    public static string Escape(string value) => value.Replace("\\", "\\\\", StringComparison.Ordinal)
        .Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    /// <summary>A sample value: integers as they are, others in the shortest form that reads back the same.</summary>
    public static string Number(double value) =>
        double.IsPositiveInfinity(value) ? "+Inf" : double.IsNegativeInfinity(value) ? "-Inf" : double.IsNaN(value) ? "NaN"
        : value.ToString("R", CultureInfo.InvariantCulture);

    private static string Labels(params (string Name, string Value)[] labels) =>
        "{" + string.Join(",", labels.Select(l => $"{l.Name}=\"{Escape(l.Value)}\"")) + "}";

    private static void Family(StringBuilder text, string name, string type, string help) =>
        text.Append("# HELP ").Append(Prefix).Append(name).Append(' ').Append(help).Append('\n')
            .Append("# TYPE ").Append(Prefix).Append(name).Append(' ').Append(type).Append('\n');

    private static void Sample(StringBuilder text, string name, string labels, double value) =>
        text.Append(Prefix).Append(name).Append(labels).Append(' ').Append(Number(value)).Append('\n');
}

/// <summary>
/// `containerctl metrics [--output FILE]`: one scrape, printed, or written atomically into FILE
/// (node_exporter's textfile collector reads *.prom files there; a file half written is never seen).
/// </summary>
public static class Metrics
{
    public static async Task<int> RunAsync(Target target, Arguments args)
    {
        string? output = args.Option("-o", "--output");
        args.End();
        if (output is not null && !Directory.Exists(Path.GetDirectoryName(Path.GetFullPath(output))))
        {
            throw args.Usage($"{Path.GetDirectoryName(Path.GetFullPath(output))} is not a directory (node_exporter's textfile directory must exist)");
        }
        string text;
        try
        {
            text = MetricsText.Render(await ScrapeAsync(target));
        }
        catch (Exception e) when (output is not null && Unreachable(e))
        {
            // The file says so rather than keep the last scrape's figures, which would look current.
            WriteAtomically(output, MetricsText.Down());
            throw;
        }
        if (output is null)
        {
            Console.Out.Write(text);
        }
        else
        {
            WriteAtomically(output, text);
        }
        return ExitCodes.Ok;
    }

    private static bool Unreachable(Exception e) =>
        e is Tmds.DBus.Protocol.DBusConnectFailedException or Tmds.DBus.Protocol.DBusConnectionClosedException
        || (e is Tmds.DBus.Protocol.DBusErrorReplyException reply && ExitCodes.ForError(reply.ErrorName) == ExitCodes.Unreachable);

    /// <summary>One scrape: everything asked at once, one round trip's wait for all of it.</summary>
    public static async Task<MetricsInput> ScrapeAsync(Target target)
    {
        using var client = await target.ConnectAsync();
        var containers = await client.ListContainersAsync();
        var statistics = client.GetJobStatisticsAsync();
        var jobs = client.ListJobsAsync();
        var figures = await UsageFigures.OfRunningAsync(client, containers);
        var (bounds, rows) = await statistics;
        return new MetricsInput(containers, figures, bounds, rows, await jobs);
    }

    /// <summary>
    /// Written beside the target under a name the collector ignores (not *.prom), synced, then
    /// renamed over it. The dir may be another user's to write (node_exporter's): whatever is at the
    /// temporary name (a crash's leftover, or a link planted to make root write elsewhere) is
    /// unlinked, never followed, and the file is made anew (O_EXCL) and given its mode by its fd.
    /// </summary>
    public static void WriteAtomically(string file, string text)
    {
        string full = Path.GetFullPath(file);
        string temporary = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Environment.ProcessId}.tmp");
        // node_exporter runs as its own user: the file must be readable by it, whatever the umask.
        const UnixFileMode readable = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        try
        {
            File.Delete(temporary);
            using (var stream = new FileStream(temporary, new FileStreamOptions
                   {
                       Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None, UnixCreateMode = readable,
                   }))
            {
                File.SetUnixFileMode(stream.SafeFileHandle, readable);
                stream.Write(Encoding.UTF8.GetBytes(text));
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, full, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            try
            {
                File.Delete(temporary);
            }
            catch (Exception gone) when (gone is IOException or UnauthorizedAccessException)
            {
                // nothing more to do: the message below says what failed
            }
            throw new CliException(ExitCodes.Failed, $"cannot write {full}: {e.Message}");
        }
    }
}
