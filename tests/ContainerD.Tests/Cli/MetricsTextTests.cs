using ContainerD.Cli;
using ContainerD.Contract;
using static ContainerD.Tests.Cli.UsageWordingTests;

namespace ContainerD.Tests.Cli;

/// <summary>`containerctl metrics`: the Prometheus text format, family by family.</summary>
public sealed class MetricsTextTests
{
    private static MetricsInput Input() => new(
        Containers:
        [
            new ContainerSummary("web", "running", 4242, 1073741824, 65536, 3, Names.ContainerPath("web")),
            new ContainerSummary("db", "stopped", 0, 1073807360, 65536, 1, Names.ContainerPath("db")),
        ],
        Usage: new Dictionary<string, UsageFigures>
        {
            ["web"] = Figures((UsageKeys.CpuUsageNSec, 1_500_000_000), (UsageKeys.MemoryCurrent, 13_002_342), (UsageKeys.TasksCurrent, 5),
                (UsageKeys.TasksMax, 200)) with { Interfaces = [new InterfaceFigures("eth0", 300, 4, 100, 2)] },
        },
        JobBounds: [0.1, 1],
        JobStatistics: [new JobStatisticsRow("start", "done", 3, 0.75, [2, 3]), new JobStatisticsRow("create", "failed", 1, 4.5, [0, 0])],
        RunningJobs: [new JobSummary(12, "db", "update", "running", Names.JobPath(12))]);

    [Fact]
    public void A_scrape_reads_as_prometheus_text_with_help_type_and_base_units()
    {
        string text = MetricsText.Render(Input());
        Assert.Equal("""
            # HELP containerctld_up Whether containerctl metrics could read the daemon (1) or not (0).
            # TYPE containerctld_up gauge
            containerctld_up 1
            # HELP containerctld_containers Containers the daemon has, by state.
            # TYPE containerctld_containers gauge
            containerctld_containers{state="failed"} 0
            containerctld_containers{state="running"} 1
            containerctld_containers{state="starting"} 0
            containerctld_containers{state="stopped"} 1
            containerctld_containers{state="stopping"} 0
            # HELP containerctld_container_state 1 for each container, labelled with its state.
            # TYPE containerctld_container_state gauge
            containerctld_container_state{name="db",state="stopped"} 1
            containerctld_container_state{name="web",state="running"} 1
            # HELP containerctld_container_generation The generation of the container's system profile.
            # TYPE containerctld_container_generation gauge
            containerctld_container_generation{name="db"} 1
            containerctld_container_generation{name="web"} 3
            # HELP containerctld_container_cpu_seconds_total CPU time the container's processes used.
            # TYPE containerctld_container_cpu_seconds_total counter
            containerctld_container_cpu_seconds_total{name="web"} 1.5
            # HELP containerctld_container_memory_bytes Memory the container uses now (its cgroup's).
            # TYPE containerctld_container_memory_bytes gauge
            containerctld_container_memory_bytes{name="web"} 13002342
            # HELP containerctld_container_tasks Tasks (processes and threads) in the container.
            # TYPE containerctld_container_tasks gauge
            containerctld_container_tasks{name="web"} 5
            # HELP containerctld_container_tasks_max The container's task limit, where it has one.
            # TYPE containerctld_container_tasks_max gauge
            containerctld_container_tasks_max{name="web"} 200
            # HELP containerctld_container_network_receive_bytes_total Bytes the container received on the interface.
            # TYPE containerctld_container_network_receive_bytes_total counter
            containerctld_container_network_receive_bytes_total{name="web",interface="eth0"} 300
            # HELP containerctld_container_network_receive_packets_total Packets the container received on the interface.
            # TYPE containerctld_container_network_receive_packets_total counter
            containerctld_container_network_receive_packets_total{name="web",interface="eth0"} 4
            # HELP containerctld_container_network_transmit_bytes_total Bytes the container sent on the interface.
            # TYPE containerctld_container_network_transmit_bytes_total counter
            containerctld_container_network_transmit_bytes_total{name="web",interface="eth0"} 100
            # HELP containerctld_container_network_transmit_packets_total Packets the container sent on the interface.
            # TYPE containerctld_container_network_transmit_packets_total counter
            containerctld_container_network_transmit_packets_total{name="web",interface="eth0"} 2
            # HELP containerctld_jobs_running Jobs running now, by operation.
            # TYPE containerctld_jobs_running gauge
            containerctld_jobs_running{operation="update"} 1
            # HELP containerctld_jobs_total Jobs that ended since the daemon started, by operation and result.
            # TYPE containerctld_jobs_total counter
            containerctld_jobs_total{operation="create",result="failed"} 1
            containerctld_jobs_total{operation="start",result="done"} 3
            # HELP containerctld_job_duration_seconds How long the jobs that ended took, by operation and result.
            # TYPE containerctld_job_duration_seconds histogram
            containerctld_job_duration_seconds_bucket{operation="create",result="failed",le="0.1"} 0
            containerctld_job_duration_seconds_bucket{operation="create",result="failed",le="1"} 0
            containerctld_job_duration_seconds_bucket{operation="create",result="failed",le="+Inf"} 1
            containerctld_job_duration_seconds_sum{operation="create",result="failed"} 4.5
            containerctld_job_duration_seconds_count{operation="create",result="failed"} 1
            containerctld_job_duration_seconds_bucket{operation="start",result="done",le="0.1"} 2
            containerctld_job_duration_seconds_bucket{operation="start",result="done",le="1"} 3
            containerctld_job_duration_seconds_bucket{operation="start",result="done",le="+Inf"} 3
            containerctld_job_duration_seconds_sum{operation="start",result="done"} 0.75
            containerctld_job_duration_seconds_count{operation="start",result="done"} 3

            """, text);
    }

    [Fact]
    public void A_figure_no_container_has_is_no_family_and_a_daemon_that_cannot_be_read_is_up_0_alone()
    {
        string text = MetricsText.Render(Input());
        Assert.DoesNotContain("root_disk", text);
        Assert.DoesNotContain("swap", text);
        Assert.Equal("# HELP containerctld_up Whether containerctl metrics could read the daemon (1) or not (0).\n# TYPE containerctld_up gauge\ncontainerctld_up 0\n",
            MetricsText.Down());
    }

    [Fact]
    public void Every_state_is_counted_with_0_for_none_so_an_alert_on_the_running_count_sees_it_drop_to_0()
    {
        string none = MetricsText.Render(Input() with { Containers = [], Usage = new Dictionary<string, UsageFigures>() });
        Assert.Contains("containerctld_containers{state=\"running\"} 0\n", none);
        // A state a newer daemon has is counted too.
        string newer = MetricsText.Render(Input() with { Containers = [new ContainerSummary("web", "frozen", 4242, 1073741824, 65536, 3, Names.ContainerPath("web"))] });
        Assert.Contains("containerctld_containers{state=\"frozen\"} 1\n", newer);
        Assert.Contains("containerctld_containers{state=\"running\"} 0\n", newer);
        Assert.Equal(["failed", "frozen", "running", "starting", "stopped", "stopping"],
            newer.Split('\n').Where(l => l.StartsWith("containerctld_containers{", StringComparison.Ordinal)).Select(l => l.Split('"')[1]));
    }

    [Theory]
    [InlineData("web", "web")]
    [InlineData("a\"b\\c\nd", "a\\\"b\\\\c\\nd")]
    public void Label_values_are_escaped_as_the_format_says(string value, string expected) => Assert.Equal(expected, MetricsText.Escape(value));

    [Theory]
    [InlineData(0.0, "0")]
    [InlineData(1.5, "1.5")]
    [InlineData(13002342.0, "13002342")]
    [InlineData(1e-9, "1E-09")]
    [InlineData(double.PositiveInfinity, "+Inf")]
    public void Values_read_back_as_the_same_number(double value, string expected) => Assert.Equal(expected, MetricsText.Number(value));
}
