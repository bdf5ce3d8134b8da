using System.Text;
using ContainerD.Domain;
using ContainerD.Os.Lxc;

namespace ContainerD.Tests.Os;

/// <summary>The probe that tells the daemon lxc-monitor listens: LXC's struct lxc_msg, and a name no container can have.</summary>
public sealed class LxcMonitorProbeTests
{
    [Fact]
    public void The_probe_is_a_state_message_as_lxc_lays_it_out()
    {
        byte[] message = LxcMonitor.ProbeMessage();
        Assert.Equal(4 + 256 + 4, message.Length);
        Assert.Equal(0, BitConverter.ToInt32(message, 0));
        Assert.Equal(LxcMonitor.ProbeName, Encoding.ASCII.GetString(message, 4, 256).TrimEnd('\0'));
        Assert.Equal(0, BitConverter.ToInt32(message, 260));
    }

    [Fact]
    public void Its_echo_parses_and_its_name_is_no_container_name()
    {
        Assert.Equal((LxcMonitor.ProbeName, ContainerState.Stopped), LxcMonitor.ParseLine($"'{LxcMonitor.ProbeName}' changed state to [STOPPED]"));
        Assert.False(ContainerName.IsValid(LxcMonitor.ProbeName));
    }
}
