using System.Diagnostics;
using System.Globalization;
using ContainerD.IntegrationTests.Harness;

namespace ContainerD.IntegrationTests;

/// <summary>
/// What a killed daemon leaves behind: its tools die with it, recovery reaps what escaped, and one
/// container recovery cannot load does not keep the daemon from serving the others.
/// </summary>
public sealed class RecoveryTests
{
    [Fact]
    public async Task A_kill_9_takes_the_daemons_nix_build_and_lxc_monitor_with_it()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        using (var client = await daemon.ConnectAsync())
        {
            var building = new TaskCompletionSource();
            await client.WatchJobsAsync((_, line) => { if (line.Contains("step 1 of", StringComparison.Ordinal)) { building.TrySetResult(); } });
            string yaml = DaemonUnderTest.NixDefinition("orphan", variant: Guid.NewGuid().ToString("N")[..10], args: new Dictionary<string, string> { ["buildDelay"] = "60" });
            await client.CreateContainerAsync("orphan", yaml);
            await building.Task.WaitAsync(TimeSpan.FromSeconds(60));
        }
        Assert.NotEmpty(Tools(daemon, "nix-build"));
        await Eventually.TrueAsync(() => Tools(daemon, "lxc-monitor").Count > 0, "the daemon's lxc-monitor");

        await daemon.KillAsync();

        await Eventually.TrueAsync(() => Tools(daemon, "nix-build").Count == 0 && Tools(daemon, "lxc-monitor").Count == 0,
            "the end of the killed daemon's nix-build and lxc-monitor");
        // The next start rolls the create back, and nothing writes into its state dir afterwards.
        await daemon.StartProcessAsync();
        using var after = await daemon.ConnectAsync();
        Assert.Empty(await after.ListContainersAsync());
        await Invariants.AssertHoldAsync(daemon, after);
    }

    [Fact]
    public async Task Recovery_kills_a_tool_a_previous_daemon_left_running_on_its_paths()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        await daemon.KillAsync();
        // Stands in for a nix-build that escaped: named so, and naming a path in this daemon's state dir
        // (no file there: tail follows /dev/null). It ignores the signals a terminal or a closed pipe
        // sends (the suite shares its process group), so only a kill ends it.
        string marker = Path.Combine(daemon.StateDir, "containers", "left-behind");
        using var orphan = Process.Start(new ProcessStartInfo("bash")
        {
            ArgumentList = { "-c", "trap '' HUP INT PIPE TERM; exec -a nix-build tail -f /dev/null \"$0\" 2>/dev/null", marker },
        })!;
        await Eventually.TrueAsync(() => Tools(daemon, "nix-build").Count == 1, "the stand-in orphan");

        await daemon.StartProcessAsync();

        Assert.True(orphan.WaitForExit(TimeSpan.FromSeconds(10)), "the orphan still runs");
        await daemon.AssertLoggedAsync($"killed pid {orphan.Id} (nix-build");
    }

    [Fact]
    public async Task A_container_recovery_cannot_load_is_skipped_and_keeps_its_name_and_range()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        string system = await Systems.BuildAsync("recovery");
        uint brokenBase;
        using (var client = await daemon.ConnectAsync())
        {
            Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync("good", $"system: {{ path: {system} }}\n"))).Succeeded);
            Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync("broken", $"system: {{ path: {system} }}\n"))).Succeeded);
            brokenBase = (await client.ListContainersAsync()).Single(r => r.Name == "broken").UidBase;
        }
        await daemon.KillAsync();
        // A definition that no longer parses: loading this one container fails.
        await File.WriteAllTextAsync(Path.Combine(daemon.StateDir, "containers", "broken", "container.yaml"), "system: [ unclosed\n");

        await daemon.StartProcessAsync();

        using var after = await daemon.ConnectAsync();
        Assert.Equal(["good"], (await after.ListContainersAsync()).Select(r => r.Name));
        await daemon.AssertLoggedAsync("container broken could not be loaded and is skipped");
        // Neither its range nor its name is handed out again.
        Assert.True((await after.RunJobAsync(c => c.CreateContainerAsync("third", $"system: {{ path: {system} }}\n"))).Succeeded);
        Assert.NotEqual(brokenBase, (await after.ListContainersAsync()).Single(r => r.Name == "third").UidBase);
        var again = await daemon.CliAsync("create", "broken", "--system", system);
        Assert.True(again.ExitCode == 6, again.ToString());
        Assert.Contains("could not be loaded at the daemon's start", again.Stderr);
    }

    /// <summary>Processes named `tool` whose command line names this daemon's directory.</summary>
    private static List<int> Tools(DaemonUnderTest daemon, string tool)
    {
        var found = new List<int>();
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
            {
                continue;
            }
            try
            {
                string[] argv = File.ReadAllText(Path.Combine(dir, "cmdline")).Split('\0', StringSplitOptions.RemoveEmptyEntries);
                if (argv.Length > 0 && Path.GetFileName(argv[0]) == tool && argv.Any(a => a.StartsWith(daemon.Dir, StringComparison.Ordinal)))
                {
                    found.Add(pid);
                }
            }
            catch (IOException)
            {
                // It ended meanwhile.
            }
        }
        return found;
    }
}
