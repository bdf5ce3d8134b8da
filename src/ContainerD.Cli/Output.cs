using System.Globalization;
using System.Text;
using System.Text.Json;
using ContainerD.Contract;
using Tmds.DBus.Protocol;

namespace ContainerD.Cli;

/// <summary>How results look: aligned tables for people, JSON for scripts.</summary>
public static class Output
{
    public static string ContainersTable(IReadOnlyList<ContainerSummary> rows)
    {
        var table = new List<string[]> { new[] { "NAME", "STATE", "PID", "UIDS", "GENERATION" } };
        table.AddRange(rows.Select(r => new[]
        {
            r.Name, r.State, r.LeaderPid == 0 ? "-" : Num(r.LeaderPid),
            $"{Num(r.UidBase)}-{Num(r.UidBase + r.UidSize - 1)}", Num(r.Generation),
        }));
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

    public static string ContainersJson(IReadOnlyList<ContainerSummary> rows)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartArray();
            foreach (var r in rows)
            {
                json.WriteStartObject();
                json.WriteString("name", r.Name);
                json.WriteString("state", r.State);
                json.WriteNumber("pid", r.LeaderPid);
                json.WriteNumber("uidBase", r.UidBase);
                json.WriteNumber("uidSize", r.UidSize);
                json.WriteNumber("generation", r.Generation);
                json.WriteString("path", r.Path);
                json.WriteEndObject();
            }
            json.WriteEndArray();
        }
        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }

    public static string Status(Dictionary<string, VariantValue> p)
    {
        uint uidBase = p["UidBase"].GetUInt32(), uidSize = p["UidSize"].GetUInt32();
        var created = DateTimeOffset.FromUnixTimeMilliseconds((long)(p["CreatedAt"].GetUInt64() / 1000));
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"{p["Name"].GetString()}\n");
        text.Append(CultureInfo.InvariantCulture, $"       State: {p["State"].GetString()}\n");
        uint pid = p["LeaderPid"].GetUInt32();
        text.Append(CultureInfo.InvariantCulture, $"      Leader: {(pid == 0 ? "-" : Num(pid))}\n");
        text.Append(CultureInfo.InvariantCulture, $"   UIDs/GIDs: {uidBase}-{uidBase + uidSize - 1} ({uidSize} ids; container root is host uid {uidBase})\n");
        text.Append(CultureInfo.InvariantCulture, $"  Generation: {p["Generation"].GetUInt32()}\n");
        text.Append(CultureInfo.InvariantCulture, $"      System: {p["SystemPath"].GetString()}\n");
        text.Append(CultureInfo.InvariantCulture, $"   Autostart: {(p["Autostart"].GetBool() ? "yes" : "no")}\n");
        text.Append(CultureInfo.InvariantCulture, $"     Created: {created:yyyy-MM-dd HH:mm:ss} UTC\n");
        return text.ToString();
    }

    private static string Num(uint n) => n.ToString(CultureInfo.InvariantCulture);

    private static string Align(List<string[]> table)
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
