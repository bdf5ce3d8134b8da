using System.Text.RegularExpressions;
using ContainerD.IntegrationTests.Harness;

namespace ContainerD.IntegrationTests;

/// <summary>containerctl as a process against a real daemon, the way a person uses it.</summary>
public sealed class CliTests
{
    [Fact]
    public async Task A_person_creates_starts_lists_runs_stops_and_destroys_a_container()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        string file = Path.Combine(daemon.Dir, "demo.yaml");
        await File.WriteAllTextAsync(file, DaemonUnderTest.NixDefinition("demo"));

        var create = await daemon.CliAsync("create", "demo", "-f", file, "--start");
        Assert.True(create.ExitCode == 0, create.ToString());
        Assert.Contains("building the system from", create.Stdout); // the job's log, streamed
        Assert.Contains("nix-build ", create.Stdout);
        Assert.Contains("demo: created", create.Stdout);
        Assert.Contains("demo: started", create.Stdout);

        var list = await daemon.CliAsync("list");
        Assert.True(list.ExitCode == 0, list.ToString());
        var lines = list.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches(@"^NAME\s+STATE\s+PID\s+UIDS\s+GENERATION\s+AUTOSTART$", lines[0]);
        Assert.Matches(@"^demo\s+running\s+\d+\s+\d+-\d+\s+1\s+no$", lines[1]);

        var json = await daemon.CliAsync("list", "--json");
        Assert.Contains("\"state\": \"running\"", json.Stdout);
        Assert.Contains("\"autostart\": false", json.Stdout);
        Assert.Equal("demo\n", (await daemon.CliAsync("list", "--names")).Stdout);

        // argv reaches the command untouched: no shell in between.
        var run = await daemon.CliAsync("run", "demo", "--", "echo", "a b", "$HOME", "; rm -rf /", "'q'");
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal("a b $HOME ; rm -rf / 'q'\n", run.Stdout);
        var exit = await daemon.CliAsync("run", "demo", "--", "sh", "-c", "echo oops >&2; exit 7");
        Assert.Equal(7, exit.ExitCode);
        Assert.Equal("oops\n", exit.Stderr);

        var status = await daemon.CliAsync("status", "demo");
        Assert.Contains("State: running", status.Stdout);
        Assert.Contains("Generation: 1", status.Stdout);
        Assert.Contains("Addresses: -", status.Stdout);
        Assert.Contains("Definition: imperative", status.Stdout);
        Assert.Contains("Last job: start done", status.Stdout);

        var stop = await daemon.CliAsync("stop", "demo");
        Assert.True(stop.ExitCode == 0, stop.ToString());
        // Destroy loses files: without --yes and without a terminal to ask on, nothing happens.
        var unconfirmed = await daemon.CliAsync("destroy", "demo");
        Assert.Equal(2, unconfirmed.ExitCode);
        Assert.Contains("add --yes", unconfirmed.Stderr);
        Assert.Contains("demo", (await daemon.CliAsync("list", "--names")).Stdout);
        var destroy = await daemon.CliAsync("destroy", "demo", "--yes");
        Assert.True(destroy.ExitCode == 0, destroy.ToString());
        Assert.Single((await daemon.CliAsync("list")).Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)); // the header only
    }

    [Fact]
    public async Task Create_from_nix_arguments_or_a_store_path_then_start_and_restart()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();

        // --nix with --arg: the CLI writes the definition; the build sees the arguments. A variant of
        // its own, so Nix builds it here rather than finding it built by an earlier run.
        var fromNix = await daemon.CliAsync("create", "nixy", "--nix", Repo.Fixture("busybox-system.nix"),
            "--arg", "hostName", "nixy", "--arg", "variant", Guid.NewGuid().ToString("N")[..10], "--arg", "busybox", Prerequisites.Busybox, "--autostart");
        Assert.True(fromNix.ExitCode == 0, fromNix.ToString());
        Assert.Contains("building system 'nixy'", fromNix.Stdout);

        // --system: a prebuilt system, no build.
        string system = await Systems.BuildAsync("prebuilt");
        var fromPath = await daemon.CliAsync("create", "prebuilt", "--system", system);
        Assert.True(fromPath.ExitCode == 0, fromPath.ToString());
        Assert.DoesNotContain("nix-build", fromPath.Stdout);
        Assert.Matches(@"(?m)^nixy\s+stopped\s+-\s+\S+\s+1\s+yes$", (await daemon.CliAsync("list")).Stdout);

        var start = await daemon.CliAsync("start", "prebuilt");
        Assert.True(start.ExitCode == 0, start.ToString());
        Assert.Contains("prebuilt: started", start.Stdout);
        var status = await daemon.CliAsync("status", "prebuilt");
        Assert.Contains($"System: {system}", status.Stdout);
        string pidBefore = Regex.Match(status.Stdout, @"Leader: (\d+)").Groups[1].Value;

        var restart = await daemon.CliAsync("restart", "prebuilt");
        Assert.True(restart.ExitCode == 0, restart.ToString());
        string pidAfter = Regex.Match((await daemon.CliAsync("status", "prebuilt")).Stdout, @"Leader: (\d+)").Groups[1].Value;
        Assert.NotEqual("", pidAfter);
        Assert.NotEqual(pidBefore, pidAfter); // a new init

        // Both ways at once is a usage error, and nothing is created.
        var both = await daemon.CliAsync("create", "twice", "--system", system, "--nix", Repo.Fixture("busybox-system.nix"));
        Assert.Equal(2, both.ExitCode);
        Assert.DoesNotContain("twice", (await daemon.CliAsync("list", "--names")).Stdout);
    }

    [Fact]
    public async Task Errors_are_one_readable_line_with_a_documented_exit_code()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();

        var missing = await daemon.CliAsync("start", "ghost");
        Assert.Equal(3, missing.ExitCode);
        Assert.Equal("containerctl: start: there is no container 'ghost'; 'containerctl list' shows the containers there are\n", missing.Stderr);
        // run goes straight to the container's object; where there is none it says why as the others do.
        var runMissing = await daemon.CliAsync("run", "ghost", "--", "true");
        Assert.Equal((3, "containerctl: run: there is no container 'ghost'; 'containerctl list' shows the containers there are\n"),
            (runMissing.ExitCode, runMissing.Stderr));
        var runBadName = await daemon.CliAsync("run", "Bad/Name", "--", "true");
        Assert.Equal(2, runBadName.ExitCode);
        Assert.Contains("Bad/Name", runBadName.Stderr);

        string bad = Path.Combine(daemon.Dir, "bad.yaml");
        await File.WriteAllTextAsync(bad, "name: bad\nsystem: { path: /nix/store/x }\nidmap: { size: 1000 }\n");
        var invalid = await daemon.CliAsync("create", "bad", "-f", bad);
        Assert.Equal(2, invalid.ExitCode);
        Assert.Contains("idmap.size", invalid.Stderr);
        Assert.Single(invalid.Stderr.TrimEnd('\n').Split('\n'));

        var usage = await daemon.CliAsync("create", "x");
        Assert.Equal(2, usage.ExitCode);

        // No daemon on this bus: say so, and how to fix it.
        using var emptyBus = PrivateBus.Start();
        var unreachable = await Cli.RunAsync(["--bus", emptyBus.Address, "list"]);
        Assert.Equal(5, unreachable.ExitCode);
        Assert.Contains("cannot reach containerctld", unreachable.Stderr);
        var noBus = await Cli.RunAsync(["--bus", "unix:path=/nonexistent/bus", "list"]);
        Assert.Equal(5, noBus.ExitCode);
        Assert.Contains("is containerctld.service running?", noBus.Stderr);
    }
}
