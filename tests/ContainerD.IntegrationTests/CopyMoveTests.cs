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

    private static async Task<(DaemonUnderTest Here, SecondHost There)> StartAsync()
    {
        var here = await DaemonUnderTest.StartAsync();
        var there = await SecondHost.StartAsync();
        using var client = await here.ConnectAsync();
        Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync("mover", DaemonUnderTest.NixDefinition("mover")))).Succeeded);
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
}
