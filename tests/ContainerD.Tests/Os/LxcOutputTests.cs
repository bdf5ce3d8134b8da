using ContainerD.Domain;
using ContainerD.Os.Lxc;

namespace ContainerD.Tests.Os;

/// <summary>What LXC's tools print, turned into container states.</summary>
public sealed class LxcOutputTests
{
    [Theory]
    [InlineData("State:          RUNNING\nPID:            5305\n", ContainerState.Running, 5305)]
    [InlineData("State:          STOPPED\n", ContainerState.Stopped, 0)]
    [InlineData("State:          STARTING\n", ContainerState.Starting, 0)]
    [InlineData("", ContainerState.Stopped, 0)]
    public void Parses_lxc_info_state_and_pid(string output, ContainerState state, int pid) =>
        Assert.Equal(new LxcStatus(state, pid), LxcTool.ParseInfo(output));

    [Theory]
    [InlineData("'web' changed state to [RUNNING]", "web", ContainerState.Running)]
    [InlineData("'my-app' changed state to [STOPPED]\n", "my-app", ContainerState.Stopped)]
    [InlineData("'x' changed state to [STOPPING]", "x", ContainerState.Stopping)]
    public void Parses_monitor_state_changes(string line, string name, ContainerState state) =>
        Assert.Equal((name, state), LxcMonitor.ParseLine(line));

    [Theory]
    [InlineData("'web' exited with status [0]")]
    [InlineData("garbage")]
    public void Ignores_other_monitor_lines(string line) => Assert.Null(LxcMonitor.ParseLine(line));
}
