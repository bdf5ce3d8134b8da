using ContainerD.Cli;
using ContainerD.Contract;
using static ContainerD.Tests.Cli.UsageWordingTests;

namespace ContainerD.Tests.Cli;

/// <summary>`containerctl top`: rates from two samples, the order, and the table.</summary>
public sealed class TopTableTests
{
    private static readonly Dictionary<string, UsageFigures> Before = new()
    {
        ["idle"] = Figures((UsageKeys.CpuUsageNSec, 9_000_000_000), (UsageKeys.MemoryCurrent, 8 << 20), (UsageKeys.TasksCurrent, 2),
            (UsageKeys.IOReadBytes, 0), (UsageKeys.IOWriteBytes, 0)),
        ["busy"] = Figures((UsageKeys.CpuUsageNSec, 1_000_000_000), (UsageKeys.MemoryCurrent, 4 << 20), (UsageKeys.TasksCurrent, 3),
            (UsageKeys.IOReadBytes, 0), (UsageKeys.IOWriteBytes, 0)),
    };

    private static readonly Dictionary<string, UsageFigures> After = new()
    {
        ["idle"] = Figures((UsageKeys.CpuUsageNSec, 9_010_000_000), (UsageKeys.MemoryCurrent, 8 << 20), (UsageKeys.TasksCurrent, 2),
            (UsageKeys.IOReadBytes, 4 << 20), (UsageKeys.IOWriteBytes, 0)),
        ["busy"] = Figures((UsageKeys.CpuUsageNSec, 2_800_000_000), (UsageKeys.MemoryCurrent, 4 << 20), (UsageKeys.TasksCurrent, 53),
            (UsageKeys.IOReadBytes, 0), (UsageKeys.IOWriteBytes, 0)),
        ["new"] = Figures((UsageKeys.CpuUsageNSec, 5_000_000), (UsageKeys.MemoryCurrent, 1 << 20), (UsageKeys.TasksCurrent, 1)),
    };

    private static List<TopRow> Rows() => TopTable.Rows(After, Before, TimeSpan.FromSeconds(2));

    [Fact]
    public void Cpu_is_the_share_of_one_cpu_over_the_interval_and_a_container_new_since_has_none()
    {
        var rows = Rows().ToDictionary(r => r.Name);
        Assert.Equal(90.0, rows["busy"].CpuPercent!.Value, 6); // 1.8 s of CPU in 2 s
        Assert.Equal(0.5, rows["idle"].CpuPercent!.Value, 6);
        Assert.Equal(2.0 * (1 << 20), rows["idle"].ReadPerSecond);
        Assert.Null(rows["new"].CpuPercent);
        Assert.Null(rows["new"].ReadPerSecond);
    }

    [Theory]
    [InlineData("cpu", new[] { "busy", "idle", "new" })]
    [InlineData("memory", new[] { "idle", "busy", "new" })]
    [InlineData("tasks", new[] { "busy", "idle", "new" })]
    [InlineData("io", new[] { "idle", "busy", "new" })]
    public void Each_key_sorts_largest_first_and_the_unknown_last(string key, string[] expected) =>
        Assert.Equal(expected, TopTable.Sort(Rows(), key).Select(r => r.Name));

    [Fact]
    public void The_first_sample_sorts_by_cpu_time_so_far_and_shows_no_rates()
    {
        var rows = TopTable.Sort(TopTable.Rows(Before, null, TimeSpan.Zero), "cpu");
        Assert.Equal(["idle", "busy"], rows.Select(r => r.Name));
        Assert.All(rows, r => Assert.Null(r.CpuPercent));
    }

    [Fact]
    public void An_unknown_sort_key_is_an_argument_error()
    {
        Assert.Throws<ArgumentException>(() => TopTable.Sort(Rows(), "bogus"));
        Assert.Equal(["cpu", "memory", "tasks", "io"], TopTable.SortKeys);
    }

    [Fact]
    public void The_table_has_names_left_and_figures_right_with_a_dash_for_what_is_unknown()
    {
        Assert.Equal("""
            NAME  TASKS  %CPU  MEMORY  READ/s  WRITE/s
            busy     53  90.0      4M      0B       0B
            idle      2   0.5      8M      2M       0B
            new       1     -      1M       -        -

            """, TopTable.Render(TopTable.Sort(Rows(), "cpu")));
    }

    [Fact]
    public void Json_has_every_field_with_null_for_what_is_unknown()
    {
        string json = TopTable.Json(TopTable.Sort(Rows(), "cpu"));
        using var document = System.Text.Json.JsonDocument.Parse(json);
        var first = document.RootElement[0];
        Assert.Equal("busy", first.GetProperty("name").GetString());
        Assert.Equal(90.0, first.GetProperty("cpuPercent").GetDouble());
        Assert.Equal(53, first.GetProperty("tasks").GetInt32());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, document.RootElement[2].GetProperty("cpuPercent").ValueKind);
    }

    [Fact]
    public void A_frame_fits_the_terminal_the_header_first_lines_cut_to_its_width_and_no_newline_to_scroll_it()
    {
        string table = TopTable.Render(TopTable.Sort(Rows(), "cpu"));
        Assert.Equal("top: 3 running\n\nNAME  TASKS  %CPU  MEM\nbusy     53  90.0     ", TopTable.Frame("top: 3 running", table, 22, 4));
        // Room to spare: the whole table, still without a newline at the end.
        Assert.Equal("top\n\n" + table.TrimEnd('\n'), TopTable.Frame("top", table, int.MaxValue, int.MaxValue));
    }
}
