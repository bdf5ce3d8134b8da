using System.Globalization;
using System.Text;

namespace ContainerD.Benchmarks;

/// <summary>The results as Markdown: one table line per comparison, then the notes (memory, limits met).</summary>
public static class Report
{
    public static string Markdown(IReadOnlyList<Row> rows, IReadOnlyList<string> notes, string command) => Header(command) + Table(rows, notes);

    /// <summary>When, where and how the run was made, and how to read its times.</summary>
    public static string Header(string command) =>
        string.Create(CultureInfo.InvariantCulture,
            $"Run {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC on {Environment.ProcessorCount} CPUs ({CpuModel()}), {MemoryGigabytes():0} GB, Linux {Environment.OSVersion.Version}, with `{command}`.\n\n")
        + "Times in ms as min / median / max; ratio = ContainerD's median ÷ the other's median (< 1: ContainerD is faster).\n\n";

    /// <summary>A table and its notes.</summary>
    public static string Table(IReadOnlyList<Row> rows, IReadOnlyList<string> notes)
    {
        var text = new StringBuilder();
        text.Append("| measurement | ContainerD | compared with | its time | ratio | target | met |\n");
        text.Append("|---|---|---|---|---|---|---|\n");
        foreach (var row in rows)
        {
            string met = row.Met switch { true => "yes", false => "**no**", null => "—" };
            if (row.References.Count == 0)
            {
                text.Append(CultureInfo.InvariantCulture, $"| {row.What} | {row.Ours} | — | — | — | {row.Target?.Text ?? "—"} | {met} |\n");
            }
            for (int i = 0; i < row.References.Count; i++)
            {
                var reference = row.References[i];
                string ratio = row.RatioTo(reference)!.Value.ToString("0.00", CultureInfo.InvariantCulture) + "×";
                text.Append(i == 0
                    ? $"| {row.What} | {row.Ours} | {reference.Name} | {reference.Time} | {ratio} | {row.Target?.Text ?? "—"} | {met} |\n"
                    : $"| | | {reference.Name} | {reference.Time} | {ratio} | | |\n");
            }
        }
        text.Append('\n');
        foreach (string note in notes)
        {
            text.Append("* ").Append(note).Append('\n');
        }
        return text.ToString();
    }

    /// <summary>The markers of the main results.</summary>
    public static readonly (string Begin, string End) Results = ("<!-- results: written by ./bench.sh -->", "<!-- end of results -->");

    /// <summary>The markers of the usage and metrics results (./bench.sh writes both; ./bench.sh --usage only these).</summary>
    public static readonly (string Begin, string End) UsageResults = ("<!-- usage results: written by ./bench.sh and ./bench.sh --usage -->", "<!-- end of usage results -->");

    /// <summary>Puts the report between the file's markers, keeping the prose around them; a new file gets just the report.</summary>
    public static async Task WriteIntoAsync(string file, string report, (string Begin, string End) markers)
    {
        var (Begin, End) = markers;
        string text = File.Exists(file) ? await File.ReadAllTextAsync(file) : $"{Begin}\n{End}\n";
        int begin = text.IndexOf(Begin, StringComparison.Ordinal), end = text.IndexOf(End, StringComparison.Ordinal);
        if (begin < 0 || end < begin)
        {
            throw new InvalidOperationException($"{file} has no '{Begin}' … '{End}' markers to put the results between");
        }
        await File.WriteAllTextAsync(file, text[..(begin + Begin.Length)] + "\n" + report + text[end..]);
    }

    private static string CpuModel() =>
        File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown CPU";

    private static double MemoryGigabytes() =>
        long.Parse(File.ReadLines("/proc/meminfo").First().Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0 / 1024.0;
}
