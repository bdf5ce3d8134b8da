using System.Globalization;
using System.Text;
using System.Text.Json;
using ContainerD.Contract;
using Tmds.DBus.Protocol;

namespace ContainerD.Cli;

/// <summary>How results look: aligned tables for people, JSON for scripts.</summary>
public static class Output
{
    public static string ContainersTable(IReadOnlyList<(ContainerSummary Row, bool Autostart)> rows)
    {
        var table = new List<string[]> { new[] { "NAME", "STATE", "PID", "UIDS", "GENERATION", "AUTOSTART" } };
        table.AddRange(rows.Select(x => new[]
        {
            x.Row.Name, x.Row.State, x.Row.LeaderPid == 0 ? "-" : Num(x.Row.LeaderPid),
            $"{Num(x.Row.UidBase)}-{Num(x.Row.UidBase + x.Row.UidSize - 1)}", Num(x.Row.Generation), x.Autostart ? "yes" : "no",
        }));
        return Align(table);
    }

    public static string JobsTable(IReadOnlyList<JobSummary> jobs)
    {
        if (jobs.Count == 0)
        {
            return "No jobs running.\n";
        }
        var table = new List<string[]> { new[] { "JOB", "CONTAINER", "OPERATION", "STATE" } };
        table.AddRange(jobs.Select(j => new[] { Num(j.Id), j.Container, j.Operation, j.State }));
        return Align(table);
    }

    public static string GenerationsTable(IReadOnlyList<GenerationInfo> rows)
    {
        var table = new List<string[]> { new[] { "GENERATION", "CREATED", "SYSTEM", "" } };
        table.AddRange(rows.Select(g => new[]
        {
            Num(g.Number),
            DateTimeOffset.FromUnixTimeMilliseconds((long)(g.CreatedMicros / 1000)).ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture),
            g.StorePath,
            g.Current ? "(current)" : "",
        }));
        return Align(table);
    }

    /// <summary>What write writes, as UTF-8 text (without a newline at the end).</summary>
    public static string Json(bool indented, Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = indented }))
        {
            write(json);
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    public static string ContainersJson(IReadOnlyList<(ContainerSummary Row, bool Autostart)> rows)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartArray();
            foreach (var (r, autostart) in rows)
            {
                json.WriteStartObject();
                json.WriteString("name", r.Name);
                json.WriteString("state", r.State);
                json.WriteNumber("pid", r.LeaderPid);
                json.WriteNumber("uidBase", r.UidBase);
                json.WriteNumber("uidSize", r.UidSize);
                json.WriteNumber("generation", r.Generation);
                json.WriteBoolean("autostart", autostart);
                json.WriteString("path", r.Path);
                json.WriteEndObject();
            }
            json.WriteEndArray();
        }
        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }

    public static string Status(Dictionary<string, VariantValue> p, UsageFigures? usage = null)
    {
        uint uidBase = p["UidBase"].GetUInt32(), uidSize = p["UidSize"].GetUInt32();
        var created = DateTimeOffset.FromUnixTimeMilliseconds((long)(p["CreatedAt"].GetUInt64() / 1000));
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"{p["Name"].GetString()}\n");
        text.Append(CultureInfo.InvariantCulture, $"       State: {p["State"].GetString()}\n");
        uint pid = p["LeaderPid"].GetUInt32();
        text.Append(CultureInfo.InvariantCulture, $"      Leader: {(pid == 0 ? "-" : Num(pid))}\n");
        text.Append(Usage(usage ?? UsageFigures.None));
        text.Append(CultureInfo.InvariantCulture, $"   UIDs/GIDs: {uidBase}-{uidBase + uidSize - 1} ({uidSize} ids; container root is host uid {uidBase})\n");
        text.Append(CultureInfo.InvariantCulture, $"  Generation: {p["Generation"].GetUInt32()}\n");
        text.Append(CultureInfo.InvariantCulture, $"      System: {p["SystemPath"].GetString()}\n");
        var addresses = p["Addresses"].GetArray<string>();
        text.Append(CultureInfo.InvariantCulture, $"   Addresses: {(addresses.Length == 0 ? "-" : string.Join(", ", addresses))}\n");
        text.Append(CultureInfo.InvariantCulture, $"   Autostart: {(p["Autostart"].GetBool() ? "yes" : "no")}\n");
        text.Append(CultureInfo.InvariantCulture, $"     Created: {created:yyyy-MM-dd HH:mm:ss} UTC\n");
        text.Append(CultureInfo.InvariantCulture, $"  Definition: {(p["Declarative"].GetBool() ? "declarative (/etc/containerctld/containers)" : "imperative (containerctl create)")}\n");
        string lastJob = p["LastJob"].GetString();
        // The message is for admins only: others see how it ended, not why.
        if (p.TryGetValue("LastJobMessage", out var message) && message.GetString().Length > 0)
        {
            lastJob += ": " + message.GetString();
        }
        text.Append(CultureInfo.InvariantCulture, $"    Last job: {(lastJob.Length == 0 ? "- (none since the daemon started)" : lastJob)}\n");
        return text.ToString();
    }

    /// <summary>
    /// GetUsage's figures as systemctl status words them, a line each; nothing for a figure the
    /// daemon left out (a stopped container: no line at all).
    /// </summary>
    public static string Usage(UsageFigures usage)
    {
        var text = new StringBuilder();
        // "      Memory: …", aligned with status's other lines; a continuation line has no label.
        void Line(string label, string value) => text.Append(CultureInfo.InvariantCulture, $"{(label.Length > 0 ? label + ":" : ""),13} {value}\n");
        if (usage[UsageKeys.TasksCurrent] is { } tasks)
        {
            Line("Tasks", Num(tasks) + (usage[UsageKeys.TasksMax] is { } max ? $" (limit: {Num(max)})" : ""));
        }
        if (usage[UsageKeys.MemoryCurrent] is { } memory)
        {
            // As systemd: swap only once some is used; the limits last.
            var details = new List<string>();
            if (usage[UsageKeys.MemoryPeak] is { } peak)
            {
                details.Add($"peak: {Bytes(peak)}");
            }
            if (usage[UsageKeys.MemorySwapCurrent] is { } swap and > 0)
            {
                details.Add($"swap: {Bytes(swap)}");
            }
            if (usage[UsageKeys.MemoryMax] is { } max)
            {
                details.Add($"limit: {Bytes(max)}");
            }
            if (usage[UsageKeys.MemorySwapMax] is { } swapMax)
            {
                details.Add($"swap limit: {Bytes(swapMax)}");
            }
            Line("Memory", Bytes(memory) + (details.Count > 0 ? $" ({string.Join(", ", details)})" : ""));
        }
        if (usage[UsageKeys.CpuUsageNSec] is { } cpu)
        {
            Line("CPU", CpuTime(cpu));
        }
        if (usage[UsageKeys.IOReadBytes] is { } read && usage[UsageKeys.IOWriteBytes] is { } written)
        {
            Line("IO", $"{Bytes(read)} read, {Bytes(written)} written");
        }
        for (int i = 0; i < usage.Interfaces.Count; i++)
        {
            var n = usage.Interfaces[i];
            Line(i == 0 ? "Network" : "", $"{n.Name}: {Bytes(n.RxBytes)} in ({Packets(n.RxPackets)}), {Bytes(n.TxBytes)} out ({Packets(n.TxPackets)})");
        }
        if (usage[UsageKeys.RootDiskBytes] is { } disk)
        {
            Line("Disk", $"{Bytes(disk)} (writable root)");
        }
        return text.ToString();
    }

    private static string Packets(ulong n) => n == 1 ? "1 packet" : $"{Num(n)} packets";

    /// <summary>systemd's format_bytes: 1024-based, one decimal unless it is 0 ("12.4M", "512M", "800B").</summary>
    public static string Bytes(ulong bytes)
    {
        string[] suffixes = ["E", "P", "T", "G", "M", "K"];
        for (int i = 0; i < suffixes.Length; i++)
        {
            ulong factor = 1UL << (10 * (6 - i));
            if (bytes >= factor)
            {
                ulong whole = bytes / factor, tenth = bytes % factor * 10 / factor;
                return tenth > 0 ? $"{whole}.{tenth}{suffixes[i]}" : $"{whole}{suffixes[i]}";
            }
        }
        return $"{bytes}B";
    }

    /// <summary>CPU time to the millisecond as systemd words it: "1.234s", "2min 3.456s", "1h 2min 3.456s".</summary>
    public static string CpuTime(ulong nanoseconds)
    {
        ulong ms = nanoseconds / 1_000_000;
        ulong hours = ms / 3_600_000, minutes = ms / 60_000 % 60, seconds = ms / 1000 % 60, millis = ms % 1000;
        string s = millis == 0 ? $"{seconds}s" : $"{seconds}.{millis:000}s";
        if (ms < 1000)
        {
            return ms == 0 ? "0" : $"{ms}ms";
        }
        return hours > 0 ? $"{hours}h {minutes}min {s}" : minutes > 0 ? $"{minutes}min {s}" : s;
    }

    private static string Num(uint n) => n.ToString(CultureInfo.InvariantCulture);
    private static string Num(ulong n) => n.ToString(CultureInfo.InvariantCulture);

    internal static string Align(List<string[]> table)
    {
        int columns = table[0].Length;
        var widths = Enumerable.Range(0, columns).Select(c => table.Max(row => row[c].Length)).ToArray();
        var text = new StringBuilder();
        foreach (var row in table)
        {
            string line = string.Concat(row.Select((cell, c) => c == columns - 1 ? cell : cell.PadRight(widths[c] + 2)));
            text.Append(line.TrimEnd()).Append('\n');
        }
        return text.ToString();
    }
}
