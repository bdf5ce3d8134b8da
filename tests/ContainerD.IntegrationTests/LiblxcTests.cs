using System.Globalization;
using ContainerD.Domain;
using ContainerD.IntegrationTests.Harness;
using ContainerD.Os.Lxc;

namespace ContainerD.IntegrationTests;

/// <summary>
/// The daemon reads containers' states from liblxc's struct lxc_container; a layout it does not
/// know would make it fall back to lxc-info silently, and slowly. This pins that it reads them
/// itself, and right, on this host's LXC.
/// </summary>
public sealed class LiblxcTests
{
    [Fact]
    public async Task Liblxc_gives_the_state_and_init_pid_lxc_info_gives_for_running_stopped_and_unknown_containers()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        using var client = await daemon.ConnectAsync();
        string system = await Systems.BuildAsync("liblxc");
        Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync("seen", $"system: {{ path: {system} }}\nstopTimeout: 10s\n"))).Succeeded);
        Assert.Equal(new LxcStatus(ContainerState.Stopped, 0), LiblxcStatus.TryGet("seen", daemon.LxcPath));

        Assert.True((await client.RunJobAsync(c => c.StartContainerAsync("seen"))).Succeeded);
        var info = await Programs.RunChecked("lxc-info", "-P", daemon.LxcPath, "-n", "seen", "-p", "-H");
        var status = LiblxcStatus.TryGet("seen", daemon.LxcPath);
        Assert.Equal(new LxcStatus(ContainerState.Running, int.Parse(info.Trim(), CultureInfo.InvariantCulture)), status);
        Assert.Equal((uint)status!.Pid, (await client.ListContainersAsync()).Single().LeaderPid);

        Assert.Equal(new LxcStatus(ContainerState.Stopped, 0), LiblxcStatus.TryGet("never-made", daemon.LxcPath));
    }

    [Fact]
    public async Task Liblxc_kills_a_running_container_as_lxc_stop_k_does_and_a_stopped_one_is_no_error()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        using var client = await daemon.ConnectAsync();
        string system = await Systems.BuildAsync("liblxc");
        Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync("killed", $"system: {{ path: {system} }}\nstopTimeout: 10s\n"))).Succeeded);
        Assert.True((await client.RunJobAsync(c => c.StartContainerAsync("killed"))).Succeeded);
        int pid = LiblxcStatus.TryGet("killed", daemon.LxcPath)!.Pid;

        // It returns once the monitor is gone: the container is stopped then, its init too.
        Assert.True(LiblxcStatus.TryStop("killed", daemon.LxcPath));
        Assert.Equal(new LxcStatus(ContainerState.Stopped, 0), LiblxcStatus.TryGet("killed", daemon.LxcPath));
        Assert.Equal("STOPPED", (await Programs.RunChecked("lxc-info", "-P", daemon.LxcPath, "-n", "killed", "-s", "-H")).Trim());
        Assert.False(Directory.Exists($"/proc/{pid}"), $"init {pid} outlived the stop");
        Assert.True(LiblxcStatus.TryStop("killed", daemon.LxcPath));
    }
}
