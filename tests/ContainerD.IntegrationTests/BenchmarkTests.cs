using System.Text.RegularExpressions;

namespace ContainerD.IntegrationTests;

/// <summary>
/// The benchmark program in its --quick mode, so it can never rot: every measurement runs against
/// real containers and raw LXC and lands in the report. It fails on errors, never on timing.
/// </summary>
public sealed class BenchmarkTests
{
    [Fact]
    public async Task The_quick_benchmark_measures_everything_against_raw_lxc_and_cleans_up()
    {
        Prerequisites.Require();
        string output = Path.Combine(Path.GetTempPath(), $"bench-{Guid.NewGuid():N}.md");
        await File.WriteAllTextAsync(output, "# prose before\n<!-- results: written by ./bench.sh -->\nold\n<!-- end of results -->\nprose after\n"
            + "<!-- usage results: written by ./bench.sh and ./bench.sh --usage -->\nold usage\n<!-- end of usage results -->\nthe end\n");
        try
        {
            var (exit, stdout, stderr) = await Programs.Run(Repo.Benchmarks, "--quick", "--output", output);
            Assert.True(exit == 0, $"exit {exit}\n{stderr}\n{stdout}");

            // Each figure is in the table with a time (min / median / max) and, where there is a counterpart, a ratio.
            string[] figures =
            [
                "start → running", "stop (init powers off)", "stop --force", "systemd guest: start → `is-system-running` running/degraded", "`containerctl run NAME -- true`, end to end",
                "`RunCommand([\"true\"])` over D-Bus", "create from a prebuilt system path", "destroy (stopped container)",
                "5 containers started at once", "`ListContainers` round trip, 10 containers", "`containerctl list`, end to end",
                "`GetUsage` round trip, one running container", "metrics scrape over D-Bus", "`containerctl metrics`, end to end",
                "`ListContainers` round trip during back-to-back scrapes, 10 containers, 5 running",
                "`containerctl -H HOST list`", "`containerctl -H HOST run NAME -- true`", "`containerctl -H HOST create --system PATH`, the host has the closure",
                "copy of a stopped container",
                "`RunCommand` of 8 MiB of output", "update of a running container to a built system", "event latency: `lxc-stop -k` behind the daemon's back",
                "boot storm: daemon start with 5 autostart containers → READY=1", "boot storm: daemon start with 5 autostart containers → all 5 running",
                "daemon restart with 10 containers, 5 running, re-adopted → READY=1",
            ];
            foreach (string figure in figures)
            {
                Assert.Matches(@"(?m)^\| " + Regex.Escape(figure) + @"[^|]* \| \d+\.\d / \d+\.\d / \d+\.\d \|", stdout);
            }
            Assert.Matches(@"(?m)^\| start → running[^\n]*\| `lxc-start -d` \| \d+\.\d / \d+\.\d / \d+\.\d \| \d+\.\d\d× \| ≤ 1\.05× \| (yes|\*\*no\*\*) \|$", stdout);
            Assert.Matches(@"Event latency over 5 stops behind the daemon's back: PropertiesChanged\(State=stopped\) reached the client -?\d+\.\d ms", stdout);
            Assert.Matches(@"ContainerD's daemon, resident memory \(VmRSS\): idle, no containers: \d+\.\d MB;.*after 20: \d+\.\d MB\.", stdout);
            Assert.Matches(@"Daemon CPU per `containerctl metrics` scrape with 5 running: \d+\.\d ms", stdout);
            Assert.Matches(@"Bytes sent over ssh \(ssh's own count, all connections, median of the runs\): copy \d+\.\d kB, `tar \| ssh \| tar` \d+\.\d kB", stdout);

            // Written into the file between its markers; the prose around them is kept.
            string file = await File.ReadAllTextAsync(output);
            Assert.StartsWith("# prose before\n<!-- results: written by ./bench.sh -->\n", file);
            Assert.Contains("<!-- end of results -->\nprose after\n<!-- usage results: written by ./bench.sh and ./bench.sh --usage -->\n", file);
            Assert.EndsWith("<!-- end of usage results -->\nthe end\n", file);
            Assert.Contains(stdout[..stdout.IndexOf("Measured in the same run", StringComparison.Ordinal)].TrimEnd(), file);
            Assert.Contains(stdout[stdout.IndexOf("Measured in the same run", StringComparison.Ordinal)..], file);
            Assert.DoesNotContain("old\n", file);
            Assert.DoesNotContain("old usage\n", file);

            // Nothing left running: no raw twin, no daemon of the run — of this run: its lxcpaths lie in this
            // process's temp dir (another session's benchmark on the same machine has its own).
            var leftovers = Directory.EnumerateDirectories("/proc").Where(d => Path.GetFileName(d).All(char.IsAsciiDigit))
                .Select(d => { try { return File.ReadAllText(Path.Combine(d, "cmdline")); } catch (IOException) { return ""; } })
                .Where(cmdline => (cmdline.Contains("raw-bench-", StringComparison.Ordinal) || cmdline.Contains("raw-storm-", StringComparison.Ordinal)
                    || cmdline.Contains("unlocked-bench-", StringComparison.Ordinal)) && cmdline.Contains(Path.GetTempPath().TrimEnd('/'), StringComparison.Ordinal)).ToList();
            Assert.Empty(leftovers);
        }
        finally
        {
            File.Delete(output);
        }
    }
}
