using ContainerD.Domain.Definitions;
using ContainerD.Domain.Networking;

namespace ContainerD.Tests.Lxc;

public sealed class PortForwardRulesTests
{
    private static NetworkSettings Veth(string? local4, string? local6, params PortForward[] forwards) =>
        new(NetworkMode.Veth, null, local4 is null ? null : "10.231.0.1/30", local4, local6 is null ? null : "fd42::1/64", local6, forwards);

    [Fact]
    public void Each_forward_is_a_dnat_from_any_local_address_in_a_table_of_the_containers_own()
    {
        string script = PortForwardRules.Render("web", Veth("10.231.0.2/30", null, new PortForward(8080, 80, "tcp"), new PortForward(5353, 53, "udp")))!;
        Assert.StartsWith("table ip containerctld-web\ndelete table ip containerctld-web\ntable ip containerctld-web {\n", script);
        Assert.Equal(2, script.Split("fib daddr type local tcp dport 8080 dnat to 10.231.0.2:80").Length - 1); // prerouting and output
        Assert.Contains("fib daddr type local udp dport 5353 dnat to 10.231.0.2:53", script);
        Assert.Contains("type nat hook output priority -100", script);
        Assert.Contains("ip saddr 127.0.0.0/8 oifname \"ve-web\" masquerade", script);
        Assert.DoesNotContain("ip6", script);
    }

    [Fact]
    public void IPv6_forwards_go_to_an_ip6_table_with_a_bracketed_target()
    {
        string script = PortForwardRules.Render("web", Veth(null, "fd42::2/64", new PortForward(8080, 80, "tcp")))!;
        Assert.Contains("table ip6 containerctld-web {", script);
        Assert.Contains("dnat to [fd42::2]:80", script);
        Assert.DoesNotContain("table ip containerctld-web", script);
    }

    [Fact]
    public void Nothing_to_forward_renders_nothing()
    {
        Assert.Null(PortForwardRules.Render("web", NetworkSettings.None));
        Assert.Null(PortForwardRules.Render("web", Veth("10.231.0.2/30", null)));
    }
}
