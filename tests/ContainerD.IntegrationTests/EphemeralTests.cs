using System.Text;
using ContainerD.Contract;
using ContainerD.IntegrationTests.Harness;

namespace ContainerD.IntegrationTests;

/// <summary>ephemeral: true — the root is a fresh tmpfs at each start; the profile and the console log are not in it.</summary>
public sealed class EphemeralTests
{
    private static readonly Dictionary<string, string> NoEnv = [];

    private static async Task<CommandResult> Inside(ContainerDClient client, string name, params string[] argv) =>
        await client.RunCommandAsync(await client.GetContainerAsync(name), argv, NoEnv);


    private static string ConsoleLog(DaemonUnderTest daemon, string name) =>
        string.Concat(new[] { "console.log.1", "console.log" }.Select(f => Path.Combine(daemon.LxcPath, name, f)).Where(File.Exists).Select(File.ReadAllText));

    [Fact]
    public async Task A_file_written_in_an_ephemeral_container_is_gone_after_a_restart_its_profile_and_console_log_are_not()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        using var client = await daemon.ConnectAsync();
        foreach (var (name, extra) in new[] { ("eph", "ephemeral: true"), ("keep", "") })
        {
            Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync(name, DaemonUnderTest.NixDefinition(name, extra: extra)))).Succeeded);
            Assert.True((await client.RunJobAsync(c => c.StartContainerAsync(name))).Succeeded);
            await Checked.InsideAsync(client, name, "sh", "-c", "echo written > /root/marker && mkdir -p /var/data && echo more > /var/data/file");
            await Checked.InsideAsync(client, name, "sh", "-c", $"echo console-mark-{name} > /dev/console");
            Assert.Equal("written", await Checked.InsideAsync(client, name, "cat", "/root/marker"));
        }
        // The ephemeral root is a tmpfs; the rootfs directory on disk was never written.
        Assert.Contains("tmpfs", await Checked.InsideAsync(client, "eph", "sh", "-c", "grep ' / / ' /proc/self/mountinfo"));
        string ephRootfs = Path.Combine(daemon.StateDir, "containers", "eph", "rootfs");
        Assert.True(Directory.Exists(Path.Combine(ephRootfs, "root")), "the skeleton on disk stays");
        Assert.False(File.Exists(Path.Combine(ephRootfs, "root", "marker")), "the ephemeral container's write reached the disk");
        Assert.True(File.Exists(Path.Combine(daemon.StateDir, "containers", "keep", "rootfs", "root", "marker")));
        await Eventually.TrueAsync(() => ConsoleLog(daemon, "eph").Contains("console-mark-eph", StringComparison.Ordinal), "the mark in eph's console log");

        foreach (string name in new[] { "eph", "keep" })
        {
            var restart = await client.RunJobAsync(c => c.RestartContainerAsync(name));
            Assert.True(restart.Succeeded, restart.Message);
        }

        var gone = await Inside(client, "eph", "cat", "/root/marker");
        Assert.NotEqual(0, gone.ExitCode);
        Assert.NotEqual(0, (await Inside(client, "eph", "cat", "/var/data/file")).ExitCode);
        // The profile is not in the root: generation 1 is still there and booted.
        Assert.Equal("1", await Checked.InsideAsync(client, "eph", "cat", "/nix/var/nix/profiles/system/etc/variant"));
        Assert.Equal([1u], (await client.ListGenerationsAsync("eph")).Select(g => g.Number));
        Assert.Equal(1u, (await client.ListContainersAsync()).Single(c => c.Name == "eph").Generation);
        // The console log is the host's, beside the LXC config: the first boot's mark is still in it.
        Assert.Contains("console-mark-eph", ConsoleLog(daemon, "eph"));
        // A container that is not ephemeral keeps its files (as before).
        Assert.Equal("written", await Checked.InsideAsync(client, "keep", "cat", "/root/marker"));
        Assert.Equal("more", await Checked.InsideAsync(client, "keep", "cat", "/var/data/file"));

        // Nothing of the ephemeral root is left on the host: not the host's copy of the tmpfs while it runs, not after stop.
        Assert.DoesNotContain(File.ReadLines("/proc/self/mountinfo"), l => l.Contains(ephRootfs, StringComparison.Ordinal));
        Assert.True((await client.RunJobAsync(c => c.StopContainerAsync("eph", false))).Succeeded);
        Assert.DoesNotContain(File.ReadLines("/proc/self/mountinfo"), l => l.Contains("containerctld-ephemeral", StringComparison.Ordinal) && l.Contains(daemon.Dir, StringComparison.Ordinal));
        await Invariants.AssertHoldAsync(daemon, client);
    }
}
