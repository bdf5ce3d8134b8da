using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using ContainerD.IntegrationTests.Harness;

namespace ContainerD.IntegrationTests;

/// <summary>
/// containerctl top, events and metrics against real containers, through the CLI as people and
/// scripts run it: top on a real terminal and piped, events following a container's life (a stop
/// behind the daemon's back included) until the daemon goes away, metrics as promtool reads them.
/// </summary>
public sealed partial class ObservabilityTests
{
    private static string Definition(string name, string extra = "") => DaemonUnderTest.NixDefinition(name, hostName: "usage", extra: extra);

    private static async Task CreateAsync(DaemonUnderTest daemon, string name, bool start = true, string extra = "")
    {
        string file = Path.Combine(daemon.Dir, name + ".yaml");
        await File.WriteAllTextAsync(file, Definition(name, extra));
        await Checked.CliAsync(daemon, ["create", name, "-f", file, .. start ? ["--start"] : Array.Empty<string>()]);
    }

    [Fact]
    public async Task Top_on_a_real_terminal_shows_the_busy_container_first_and_piped_prints_once()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        await CreateAsync(daemon, "calm");
        await CreateAsync(daemon, "spinner");
        await Checked.CliAsync(daemon, "run", "spinner", "--", "sh", "-c", "while :; do :; done </dev/null >/dev/null 2>&1 &");

        await using (var terminal = await TmuxTerminal.StartAsync(Repo.Cli, "--bus", daemon.Bus.Address, "top"))
        {
            // Its second frame has rates: the busy loop's container is the first line under the header.
            string screen = await terminal.WaitForScreenAsync(s => FirstRow(s) is { } row && row.StartsWith("spinner ", StringComparison.Ordinal)
                && CpuOf(row) > 20, "top showing spinner first with its CPU");
            Assert.Contains("containerctl top: 2 running, by cpu", screen);
            Assert.Matches(@"\ncalm +\d+ +\d+\.\d ", screen);
            await terminal.TypeLineAsync("q");
            Assert.Equal(0, await terminal.WaitForExitAsync("top quitting on q"));
        }

        // Piped: two samples a second apart, one table, nothing redrawn.
        var piped = await Checked.CliAsync(daemon, "top");
        string[] lines = piped.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        Assert.StartsWith("NAME", lines[0]);
        Assert.StartsWith("spinner ", lines[1]);
        Assert.DoesNotContain("\x1b", piped.Stdout);

        var json = await Checked.CliAsync(daemon, "top", "--json", "--sort", "memory");
        using var document = JsonDocument.Parse(json.Stdout);
        Assert.Equal(["calm", "spinner"], document.RootElement.EnumerateArray().Select(e => e.GetProperty("name").GetString()).Order());
        var memory = document.RootElement.EnumerateArray().Select(e => e.GetProperty("memoryBytes").GetDouble()).ToList();
        Assert.True(memory[0] >= memory[1], json.Stdout);

        var bad = await daemon.CliAsync("top", "--sort", "bogus");
        Assert.Equal(2, bad.ExitCode);
        Assert.Equal("containerctl: top: unknown sort key 'bogus': sort by cpu, memory, tasks or io; see 'containerctl top --help'\n", bad.Stderr);
        Assert.Equal(2, (await daemon.CliAsync("top", "--delay", "never")).ExitCode);
    }

    [Fact]
    public async Task Top_on_a_terminal_it_fills_keeps_its_header_on_screen_and_cuts_lines_to_the_width()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        await CreateAsync(daemon, "first");
        await CreateAsync(daemon, "second");

        // 5 rows: the header, a blank line, the table's head and its two rows fill it exactly; 30
        // columns: every line of the table is wider.
        await using var terminal = await TmuxTerminal.StartAsync(30, 5, Repo.Cli, "--bus", daemon.Bus.Address, "top", "--delay", "0.2");
        string[] rows = [];
        try
        {
            await Eventually.TrueAsync(async () =>
            {
                rows = (await terminal.VisibleAsync()).TrimEnd('\n').Split('\n');
                return rows.Any(r => r.StartsWith("first ", StringComparison.Ordinal)) && rows.Any(r => r.StartsWith("second ", StringComparison.Ordinal));
            }, "top showing both containers", TimeSpan.FromSeconds(20));
            Assert.Equal(5, rows.Length);
            Assert.Equal("containerctl top: 2 running, b", rows[0]);
            Assert.Equal("", rows[1]);
            Assert.StartsWith("NAME ", rows[2]);
            Assert.Equal(["first", "second"], rows[3..].Select(r => r.Split(' ')[0]).Order());
        }
        catch (Xunit.Sdk.XunitException e)
        {
            throw new Xunit.Sdk.XunitException($"{e.Message}\nthe screen was:\n{string.Join('\n', rows)}");
        }
        await terminal.TypeLineAsync("q");
        Assert.Equal(0, await terminal.WaitForExitAsync("top quitting on q"));
    }

    [Fact]
    public async Task Events_follow_create_start_a_stop_behind_the_daemons_back_and_destroy_in_order_and_end_when_the_daemon_goes()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        await CreateAsync(daemon, "warm", start: false);
        using var events = new FollowedProcess(Repo.Cli, "--bus", daemon.Bus.Address, "events", "--json");
        // Listening once a job it could only have seen by listening shows up: a harmless one, asked until it does.
        using var client = await daemon.ConnectAsync();
        await Eventually.TrueAsync(async () =>
        {
            Assert.True((await client.RunJobAsync(c => c.DeleteGenerationsAsync("warm", "old"))).Succeeded);
            return events.Lines.Any(l => l.Contains("\"job-ended\",\"container\":\"warm\"", StringComparison.Ordinal));
        }, "events showing a job on warm", TimeSpan.FromSeconds(20));

        await CreateAsync(daemon, "seen");
        // Behind the daemon's back: LXC's own tool stops it; the daemon hears of it from lxc-monitor.
        await Programs.RunChecked("lxc-stop", "-P", daemon.LxcPath, "-n", "seen", "-k");
        await Eventually.TrueAsync(() => Parsed(events).Any(e => e.Type == "state" && e.Container == "seen" && e.Value == "stopped"),
            "events showing seen stopped");
        await Checked.CliAsync(daemon, "destroy", "seen", "--yes");
        await Eventually.TrueAsync(() => Parsed(events).Any(e => e.Type == "job-ended" && e.Operation == "destroy"), "events showing the destroy's end");

        var seen = Parsed(events).Where(e => e.Container == "seen").Select(e => e.ToString()).ToList();
        string[] expected =
        [
            "job-started create", "created", "job-ended create done", "job-started start", "state running", "job-ended start done",
            "state stopped (was running)", "job-started destroy", "removed", "job-ended destroy done",
        ];
        Assert.True(IsInOrder(seen, expected), $"expected, in this order: {string.Join(" | ", expected)}\nseen: {string.Join(" | ", seen)}");
        Assert.All(events.Lines, l => Assert.Matches(@"^\{""time"":""\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"",", l));

        // A container that is not there is an error at once, not a silence forever.
        var missing = await daemon.CliAsync("events", "seen");
        Assert.Equal(3, missing.ExitCode);
        Assert.Contains("there is no container 'seen'", missing.Stderr);
        Assert.Equal(2, (await daemon.CliAsync("events", "Not_A_Name")).ExitCode);

        await daemon.KillAsync();
        Assert.Equal(5, await events.WaitForExitAsync());
        Assert.Contains("containerctld went away while events were being followed; containers keep running. Check with 'systemctl status containerctld'.", events.Stderr);
    }

    [Fact]
    public async Task Events_piped_into_a_reader_that_goes_away_end_as_events_piped_to_head_should()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        await CreateAsync(daemon, "quiet", start: false);
        var startInfo = new ProcessStartInfo(Repo.Cli) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string arg in (string[])["--bus", daemon.Bus.Address, "events"])
        {
            startInfo.ArgumentList.Add(arg);
        }
        using var events = Process.Start(startInfo)!;
        var stderr = events.StandardError.ReadToEndAsync();
        using var client = await daemon.ConnectAsync();
        async Task<bool> JobThen(Task happened)
        {
            Assert.True((await client.RunJobAsync(c => c.DeleteGenerationsAsync("quiet", "old"))).Succeeded);
            return happened.IsCompleted;
        }

        // `containerctl events | head -1`: the reader takes one line and closes its end of the pipe.
        var first = events.StandardOutput.ReadLineAsync();
        await Eventually.TrueAsync(() => JobThen(first), "events printing a line", TimeSpan.FromSeconds(20));
        Assert.Contains(" quiet delete-generations ", await first); // its start, or its end if events began to listen meanwhile
        events.StandardOutput.Close();

        // Its next lines meet the closed pipe: events ends, as a C tool ends on SIGPIPE, instead of
        // following the daemon forever for nobody.
        var exited = events.WaitForExitAsync();
        await Eventually.TrueAsync(() => JobThen(exited), "events ending once its reader went away", TimeSpan.FromSeconds(20));
        Assert.Equal(0, events.ExitCode);
        Assert.Equal("", await stderr);
    }

    [Fact]
    public async Task Metrics_pass_promtool_match_what_status_shows_and_are_written_atomically_for_node_exporter()
    {
        Assert.True(File.Exists("/usr/bin/promtool"), "promtool is missing: it comes with Debian's prometheus package (scripts/install-deps.sh installs it)");
        await using var daemon = await DaemonUnderTest.StartAsync();
        const string extra = """
            limits: { memory: 256M, pids: 200 }
            network: { mode: veth, hostAddress: 10.231.17.5/30, localAddress: 10.231.17.6/30 }
            """;
        await CreateAsync(daemon, "measured", extra: extra);
        await CreateAsync(daemon, "parked", start: false);

        var status = await daemon.CliAsync("status", "measured");
        var metrics = await Checked.CliAsync(daemon, "metrics");
        var check = await Programs.RunWith(null, metrics.Stdout, "promtool", "check", "metrics");
        Assert.True(check.ExitCode == 0, $"promtool check metrics: {check.Stdout}{check.Stderr}\n{metrics.Stdout}");
        Assert.Equal("", check.Stdout + check.Stderr); // not even a lint warning

        var samples = Samples(metrics.Stdout);
        double Sample(string name, string labels) => samples.TryGetValue(name + labels, out double v) ? v : throw new KeyNotFoundException($"no {name}{labels} in:\n{metrics.Stdout}");
        const string web = "{name=\"measured\"}";
        Assert.Equal(1, Sample("containerctld_up", ""));
        Assert.Equal(1, Sample("containerctld_container_state", "{name=\"measured\",state=\"running\"}"));
        Assert.Equal(1, Sample("containerctld_container_state", "{name=\"parked\",state=\"stopped\"}"));
        Assert.Equal(1, Sample("containerctld_container_generation", web));
        // What status says, in the metrics: the same tasks and limits, the same root size, memory as it words it.
        var tasks = Regex.Match(status.Stdout, @"Tasks: (\d+) \(limit: (\d+)\)");
        Assert.Equal(double.Parse(tasks.Groups[1].Value, CultureInfo.InvariantCulture), Sample("containerctld_container_tasks", web));
        Assert.Equal(200, Sample("containerctld_container_tasks_max", web));
        Assert.Equal(256 << 20, Sample("containerctld_container_memory_max_bytes", web));
        var memory = Regex.Match(status.Stdout, @"Memory: ([0-9.]+[KMG]) \(peak: [0-9.]+[KMG], limit: 256M\)");
        Assert.True(memory.Success, status.Stdout);
        Assert.InRange(Sample("containerctld_container_memory_bytes", web), Parse(memory.Groups[1].Value) * 0.8, Parse(memory.Groups[1].Value) * 1.25);
        // The root's figure is the last walk's, and a root nobody writes to stays the same: status's, cut to one decimal.
        double disk = Sample("containerctld_container_root_disk_bytes", web);
        string shown = Regex.Match(status.Stdout, @"Disk: (\S+) \(writable root\)").Groups[1].Value;
        Assert.InRange(disk, Parse(shown), Parse(shown) + Unit(shown) / 10);
        var cpu = Sample("containerctld_container_cpu_seconds_total", web);
        Assert.InRange(cpu, 0.000001, 60);
        Assert.True(samples.ContainsKey("containerctld_container_network_receive_packets_total{name=\"measured\",interface=\"eth0\"}"), metrics.Stdout);
        Assert.DoesNotContain(samples.Keys, k => k.Contains("name=\"parked\"", StringComparison.Ordinal) && k.StartsWith("containerctld_container_memory", StringComparison.Ordinal));
        // The jobs this test ran: two creates and one start, done; their durations in the histogram.
        Assert.Equal(2, Sample("containerctld_jobs_total", "{operation=\"create\",result=\"done\"}"));
        Assert.Equal(1, Sample("containerctld_jobs_total", "{operation=\"start\",result=\"done\"}"));
        Assert.Equal(1, Sample("containerctld_job_duration_seconds_count", "{operation=\"start\",result=\"done\"}"));
        Assert.Equal(1, Sample("containerctld_job_duration_seconds_bucket", "{operation=\"start\",result=\"done\",le=\"+Inf\"}"));

        // For node_exporter's textfile collector: written whole under its name, readable by the exporter's user.
        string dir = Path.Combine(daemon.Dir, "textfile");
        Directory.CreateDirectory(dir);
        string prom = Path.Combine(dir, "containerctld.prom");
        var written = await Checked.CliAsync(daemon, "metrics", "--output", prom);
        Assert.Equal("", written.Stdout);
        Assert.Equal(["containerctld.prom"], Directory.GetFiles(dir).Select(Path.GetFileName));
        Assert.Equal((UnixFileMode)0b110_100_100, File.GetUnixFileMode(prom));
        Assert.Equal(0, (await Programs.RunWith(null, await File.ReadAllTextAsync(prom), "promtool", "check", "metrics")).ExitCode);
        Assert.Equal(2, (await daemon.CliAsync("metrics", "--output", Path.Combine(daemon.Dir, "nowhere", "x.prom"))).ExitCode);

        // A daemon that is gone: the file says so instead of keeping figures that look current.
        await daemon.KillAsync();
        var down = await daemon.CliAsync("metrics", "--output", prom);
        Assert.Equal(5, down.ExitCode);
        Assert.Equal(0, Samples(await File.ReadAllTextAsync(prom))["containerctld_up"]);
        Assert.DoesNotContain("containerctld_container_", await File.ReadAllTextAsync(prom));
    }

    /// <summary>The text format's samples by name and labels, as written.</summary>
    private static Dictionary<string, double> Samples(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith('#'))
            .Select(l => (Key: l[..l.LastIndexOf(' ')], Value: l[(l.LastIndexOf(' ') + 1)..]))
            .ToDictionary(s => s.Key, s => s.Value == "+Inf" ? double.PositiveInfinity : double.Parse(s.Value, CultureInfo.InvariantCulture));

    /// <summary>"12.4M" as systemd words bytes, back to a number (the lower end: the figure was cut, not rounded).</summary>
    private static double Parse(string bytes) => double.Parse(bytes[..^1], CultureInfo.InvariantCulture) * Unit(bytes);

    private static double Unit(string bytes) => bytes[^1] switch { 'K' => 1024, 'M' => 1 << 20, 'G' => 1 << 30, _ => 1 };

    /// <summary>The first line under top's latest header (the scrollback holds the frames before), or null while there is none.</summary>
    private static string? FirstRow(string screen)
    {
        var lines = screen.Split('\n');
        int header = Array.FindLastIndex(lines, l => l.StartsWith("NAME ", StringComparison.Ordinal));
        return header >= 0 && header + 1 < lines.Length && lines[header + 1].Trim().Length > 0 ? lines[header + 1] : null;
    }

    private static double CpuOf(string row) =>
        row.Split(' ', StringSplitOptions.RemoveEmptyEntries) is [_, _, var cpu, ..] && double.TryParse(cpu, CultureInfo.InvariantCulture, out double v) ? v : -1;

    private sealed record Event(string Type, string Container, string? Value, string? Previous, string? Operation, string? Result)
    {
        public override string ToString() => Type switch
        {
            "state" => $"state {Value}{(Previous is { } p && Value == "stopped" ? $" (was {p})" : "")}",
            "job-started" => $"job-started {Operation}",
            "job-ended" => $"job-ended {Operation} {Result}",
            _ => Type,
        };
    }

    private static List<Event> Parsed(FollowedProcess events) => events.Lines.Select(l =>
    {
        using var json = JsonDocument.Parse(l);
        string? Field(string name) => json.RootElement.TryGetProperty(name, out var v) ? v.ToString() : null;
        return new Event(Field("type")!, Field("container")!, Field("state") ?? Field("generation"), Field("previous"), Field("operation"), Field("result"));
    }).ToList();

    /// <summary>Whether expected appear in seen in this order (others may come between).</summary>
    private static bool IsInOrder(List<string> seen, string[] expected)
    {
        int at = 0;
        foreach (string e in seen)
        {
            if (at < expected.Length && e == expected[at])
            {
                at++;
            }
        }
        return at == expected.Length;
    }

    /// <summary>A command that keeps running: its stdout lines as they come, its stderr, its exit.</summary>
    private sealed class FollowedProcess : IDisposable
    {
        private readonly Process _process;
        private readonly ConcurrentQueue<string> _lines = new();
        private readonly Task<string> _stderr;

        public FollowedProcess(string program, params string[] args)
        {
            var startInfo = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
            foreach (string arg in args)
            {
                startInfo.ArgumentList.Add(arg);
            }
            _process = Process.Start(startInfo)!;
            _process.OutputDataReceived += (_, e) =>
            {
                if (e.Data is { Length: > 0 } line)
                {
                    _lines.Enqueue(line);
                }
            };
            _process.BeginOutputReadLine();
            _stderr = _process.StandardError.ReadToEndAsync();
        }

        public IReadOnlyList<string> Lines => [.. _lines];

        public string Stderr => _stderr.IsCompleted ? _stderr.Result : "";

        public async Task<int> WaitForExitAsync()
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            await _process.WaitForExitAsync(timeout.Token);
            await _stderr;
            return _process.ExitCode;
        }

        public void Dispose()
        {
            if (!_process.HasExited)
            {
                _process.Kill();
            }
            _process.Dispose();
        }
    }
}
