using ContainerD.Domain;
using ContainerD.Os.Lxc;

namespace ContainerD.Tests.Os;

public sealed class LxcInfoTests
{
    [Theory]
    [InlineData("RUNNING\n5305\n", ContainerState.Running, 5305)]
    [InlineData("STOPPED\n", ContainerState.Stopped, 0)]
    [InlineData("STARTING\n", ContainerState.Starting, 0)]
    [InlineData("", ContainerState.Stopped, 0)]
    public void Parses_lxc_info_state_and_pid(string output, ContainerState state, int pid) =>
        Assert.Equal(new LxcStatus(state, pid), LxcTool.ParseInfo(output));
}
