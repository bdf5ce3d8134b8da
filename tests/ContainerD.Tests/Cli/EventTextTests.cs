using ContainerD.Cli;
using ContainerD.Contract;
using Tmds.DBus.Protocol;

namespace ContainerD.Tests.Cli;

/// <summary>`containerctl events`: what each signal means and how it reads, a line each.</summary>
public sealed class EventTextTests
{
    private static readonly DateTimeOffset At = new(2026, 12, 1, 11, 4, 36, 123, TimeSpan.FromHours(1));
    private static readonly string Web = Names.ContainerPath("web");

    private static EventText.Known KnownWeb()
    {
        var known = new EventText.Known();
        known.Add("web", Web, "stopped", 2);
        return known;
    }

    private static string Lines(IEnumerable<DaemonSignal> signals, EventText.Known known) =>
        string.Join("\n", signals.SelectMany(s => EventText.From(s, At, known)).Select(EventText.Line));

    [Fact]
    public void A_containers_life_reads_one_line_per_thing_in_order_with_what_was_before()
    {
        var known = new EventText.Known();
        string text = Lines([
            new ContainerAppeared("web", Web),
            new JobStarted(7, Names.JobPath(7), "web", "start"),
            new ContainerChanged(Web, new Dictionary<string, VariantValue> { ["State"] = "starting", ["LeaderPid"] = 0u }),
            new ContainerChanged(Web, new Dictionary<string, VariantValue> { ["State"] = "running", ["LeaderPid"] = 1234u }),
            new JobEnded(new JobEnd(7, Names.JobPath(7), "web", "start", "done", "")),
            new ContainerChanged(Web, new Dictionary<string, VariantValue> { ["Generation"] = 2u, ["SystemPath"] = "/nix/store/x" }),
            new JobEnded(new JobEnd(8, Names.JobPath(8), "web", "update", "failed", "", Errors.NameOf("BuildFailed"))),
            new ContainerVanished("web", Web),
        ], known);
        Assert.Equal("""
            2026-12-01T10:04:36.123Z created web
            2026-12-01T10:04:36.123Z job-started web start (job 7)
            2026-12-01T10:04:36.123Z state web starting
            2026-12-01T10:04:36.123Z state web running (was starting)
            2026-12-01T10:04:36.123Z job-ended web start done (job 7)
            2026-12-01T10:04:36.123Z generation web 2
            2026-12-01T10:04:36.123Z job-ended web update failed: BuildFailed (job 8)
            2026-12-01T10:04:36.123Z removed web
            """, text);
        Assert.Empty(known.Containers);
    }

    [Fact]
    public void What_the_list_said_is_the_before_and_a_change_to_the_same_is_no_event()
    {
        var known = KnownWeb();
        Assert.Equal("2026-12-01T10:04:36.123Z state web running (was stopped)\n2026-12-01T10:04:36.123Z generation web 3 (was 2)",
            Lines([new ContainerChanged(Web, new Dictionary<string, VariantValue> { ["State"] = "running", ["Generation"] = 3u })], known));
        Assert.Empty(EventText.From(new ContainerChanged(Web, new Dictionary<string, VariantValue> { ["State"] = "running" }), At, known));
        Assert.Empty(EventText.From(new ContainerChanged(Web, new Dictionary<string, VariantValue> { ["Addresses"] = VariantValue.Array(new[] { "10.0.0.2/30" }) }), At, known));
    }

    [Fact]
    public void Json_is_one_object_a_line_with_the_fields_that_apply()
    {
        var known = KnownWeb();
        var state = EventText.From(new ContainerChanged(Web, new Dictionary<string, VariantValue> { ["State"] = "running" }), At, known).Single();
        Assert.Equal("""{"time":"2026-12-01T10:04:36.123Z","type":"state","container":"web","state":"running","previous":"stopped"}""", EventText.Json(state));
        var generation = EventText.From(new ContainerChanged(Web, new Dictionary<string, VariantValue> { ["Generation"] = 3u }), At, known).Single();
        Assert.Equal("""{"time":"2026-12-01T10:04:36.123Z","type":"generation","container":"web","generation":3,"previous":2}""", EventText.Json(generation));
        var ended = EventText.From(new JobEnded(new JobEnd(9, Names.JobPath(9), "web", "stop", "failed", "", Errors.NameOf("StopFailed"))), At, known).Single();
        Assert.Equal("""{"time":"2026-12-01T10:04:36.123Z","type":"job-ended","container":"web","job":9,"operation":"stop","result":"failed","error":"io.containerctl.ContainerD1.Error.StopFailed"}""",
            EventText.Json(ended));
    }
}
