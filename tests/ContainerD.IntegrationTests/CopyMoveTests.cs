using System.Text.RegularExpressions;
using ContainerD.IntegrationTests.Harness;

namespace ContainerD.IntegrationTests;

/// <summary>
/// copy and move to a second host (SecondHost: its own store, bus, daemon and sshd on loopback):
/// the closure travels as the paths the host lacks, the root streams through ssh into an import
/// there with its owners shifted into that host's range; a move destroys the source only once
/// the copy runs there.
/// </summary>
public sealed class CopyMoveTests
{
    private static string[] To(SecondHost host) => ["--to", host.Spec(), "--to-bus", host.Daemon.Bus.Address];

    private static async Task<(DaemonUnderTest Here, SecondHost There)> StartAsync(IReadOnlyDictionary<string, string>? args = null)
    {
        var here = await DaemonUnderTest.StartAsync();
        var there = await SecondHost.StartAsync();
        using var client = await here.ConnectAsync();
        Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync("mover", DaemonUnderTest.NixDefinition("mover", args: args)))).Succeeded);
        Assert.True((await client.RunJobAsync(c => c.StartContainerAsync("mover"))).Succeeded);
        await Checked.InsideAsync(client, "mover", "sh", "-c", "echo travelled > /root/marker && chown 1000:1000 /root/marker");
        return (here, there);
    }

    [Fact]
    public async Task Copy_sends_only_the_missing_paths_and_the_root_and_move_destroys_the_source_once_the_copy_runs()
    {
        var (here, there) = await StartAsync();
        await using var _ = here;
        await using var __ = there;
        using var client = await here.ConnectAsync();
        using var far = await there.Daemon.ConnectAsync();

        var copied = await Checked.CliAsync(here, ["--ssh-config", there.SshConfig, "copy", "mover", .. To(there), "--name", "copy1"]);
        Assert.Matches(@"push: [12] of 2 paths copied to ", copied.Stdout);
        Assert.Contains($"mover: copied to {there.Spec()} as copy1", copied.Stdout);
        var again = await Checked.CliAsync(here, ["--ssh-config", there.SshConfig, "copy", "mover", .. To(there), "--name", "copy2"]);
        Assert.Contains("push: 0 of 2 paths copied", again.Stdout);
        Assert.Equal("running", (await client.ListContainersAsync()).Single().State);
        var rows = (await far.ListContainersAsync()).ToDictionary(r => r.Name);
        Assert.Equal(["copy1", "copy2"], rows.Keys.Order());
        Assert.True((await far.RunJobAsync(c => c.StartContainerAsync("copy1"))).Succeeded);
        Assert.Equal("travelled", await Checked.InsideAsync(far, "copy1", "cat", "/root/marker"));
        Assert.Equal("1000", await Checked.InsideAsync(far, "copy1", "stat", "-c", "%u", "/root/marker"));

        var moved = await Checked.CliAsync(here, ["--ssh-config", there.SshConfig, "move", "mover", .. To(there)]);
        Assert.Contains($"mover: moved to {there.Spec()} as mover", moved.Stdout);
        Assert.Empty(await client.ListContainersAsync());
        var arrived = (await far.ListContainersAsync()).Single(r => r.Name == "mover");
        Assert.Equal("running", arrived.State);
        Assert.Equal("travelled", await Checked.InsideAsync(far, "mover", "cat", "/root/marker"));
        await Invariants.AssertHoldAsync(here, client);
    }

    [Theory]
    [InlineData("TERM")]
    // kill -9: the move cannot undo anything itself; its guard, a second containerctl, does.
    [InlineData("KILL")]
    public async Task A_move_killed_halfway_leaves_the_source_running_and_nothing_there(string signal)
    {
        // Its init sits out the power-off request (noting it in /root/sigpwr) until the stop's 10 s
        // kill: the move is killed while it waits for the source to stop.
        var (here, there) = await StartAsync(new Dictionary<string, string> { ["powerOffLog"] = "/root/sigpwr" });
        await using var _ = here;
        await using var __ = there;
        using var client = await here.ConnectAsync();
        using var far = await there.Daemon.ConnectAsync();

        var startInfo = new System.Diagnostics.ProcessStartInfo(Repo.Cli)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in (string[])["--bus", here.Bus.Address, "--ssh-config", there.SshConfig, "move", "mover", .. To(there)])
        {
            startInfo.ArgumentList.Add(arg);
        }
        using var move = System.Diagnostics.Process.Start(startInfo)!;
        var stdout = move.StandardOutput.ReadToEndAsync();
        var stderr = move.StandardError.ReadToEndAsync();
        string asked = Path.Combine(here.StateDir, "containers", "mover", "rootfs", "root", "sigpwr");
        await Eventually.TrueAsync(() => File.Exists(asked), "the move's stop asking init to power off", TimeSpan.FromMinutes(2));
        await Programs.RunChecked("kill", "-" + signal, move.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        // Its output ends when the move and its guard (which shares it) have both ended.
        using (var waited = new CancellationTokenSource(TimeSpan.FromMinutes(2)))
        {
            await move.WaitForExitAsync(waited.Token);
        }
        string said = await stderr;
        if (signal == "TERM")
        {
            Assert.True(move.ExitCode == 1, $"exit {move.ExitCode}\n{await stdout}\n{said}");
            Assert.Contains("SIGTERM received: stopping the move", said);
            Assert.Contains("starting mover here again", said);
        }
        else
        {
            Assert.True(move.ExitCode == 137, $"exit {move.ExitCode}\n{await stdout}\n{said}");
            Assert.Contains($"the move of mover was killed before it ran on {there.Spec()}: undoing it", said);
        }

        var source = (await client.ListContainersAsync()).Single();
        Assert.Equal(("mover", "running"), (source.Name, source.State));
        Assert.Equal("travelled", await Checked.InsideAsync(client, "mover", "cat", "/root/marker"));
        Assert.DoesNotContain(await far.ListContainersAsync(), c => c.Name == "mover");
        await Invariants.AssertHoldAsync(here, client);
    }

    [Fact]
    public async Task A_move_to_a_host_that_has_a_container_of_that_name_is_refused_and_leaves_both_alone()
    {
        var (here, there) = await StartAsync();
        await using var _ = here;
        await using var __ = there;
        using var client = await here.ConnectAsync();
        using var far = await there.Daemon.ConnectAsync();
        Assert.True((await far.RunJobAsync(c => c.CreateContainerAsync("mover", DaemonUnderTest.NixDefinition("mover", variant: "2")))).Succeeded);

        foreach (string verb in new[] { "move", "copy" })
        {
            var refused = await here.CliAsync(["--ssh-config", there.SshConfig, verb, "mover", .. To(there)]);
            Assert.Single(await far.ListContainersAsync(), c => c.Name == "mover");
            Assert.True(refused.ExitCode == 6, refused.ToString());
            Assert.Contains($"{there.Spec()} has a container 'mover' already", refused.Stderr);
            Assert.DoesNotContain("push:", refused.Stdout);
        }
        // A name that host's daemon would refuse: refused before the source is stopped or anything pushed.
        var badName = await here.CliAsync(["--ssh-config", there.SshConfig, "move", "mover", .. To(there), "--name", "Bad_Name"]);
        Assert.True(badName.ExitCode == 2, badName.ToString());
        Assert.Contains("Bad_Name", badName.Stderr);
        Assert.DoesNotContain("push:", badName.Stdout);
        Assert.DoesNotContain("stopped", badName.Stdout);
        Assert.Equal("running", (await client.ListContainersAsync()).Single().State);
        Assert.Equal("travelled", await Checked.InsideAsync(client, "mover", "cat", "/root/marker"));
        Assert.Single(await far.ListContainersAsync(), c => c.Name == "mover");
        await Invariants.AssertHoldAsync(here, client);
    }

    [Fact]
    public async Task A_move_takes_every_generation_and_does_not_drop_snapshots_unasked()
    {
        var (here, there) = await StartAsync();
        await using var _ = here;
        await using var __ = there;
        using var client = await here.ConnectAsync();
        using var far = await there.Daemon.ConnectAsync();
        Assert.True((await client.RunJobAsync(c => c.UpdateContainerAsync("mover", DaemonUnderTest.NixDefinition("mover", variant: "2")))).Succeeded);
        Assert.True((await client.RunJobAsync(c => c.SnapshotContainerAsync("mover", "keep"))).Succeeded);

        var refused = await here.CliAsync(["--ssh-config", there.SshConfig, "move", "mover", .. To(there)]);
        Assert.True(refused.ExitCode == 2, refused.ToString());
        Assert.Contains("move: mover has snapshots (keep), which do not travel", refused.Stderr);
        Assert.DoesNotContain("push:", refused.Stdout);
        Assert.Equal("running", (await client.ListContainersAsync()).Single().State);
        Assert.Empty(await far.ListContainersAsync());

        var systems = (await client.ListGenerationsAsync("mover")).Select(g => g.StorePath).ToArray();
        await Checked.CliAsync(here, ["--ssh-config", there.SshConfig, "move", "mover", .. To(there), "--discard-snapshots"]);
        Assert.Empty(await client.ListContainersAsync());
        Assert.Equal(systems, (await far.ListGenerationsAsync("mover")).Select(g => g.StorePath));
        Assert.Equal("travelled", await Checked.InsideAsync(far, "mover", "cat", "/root/marker"));
    }
}
