using System.Globalization;
using System.Text;
using ContainerD.Domain.Definitions;
using ContainerD.Domain.Lxc;

namespace ContainerD.Domain.Networking;

/// <summary>
/// A container's port forwards as one nftables table of its own (ip and ip6 families), so that
/// adding is one atomic `nft -f` and removing is one `delete table` — also after a crash, when
/// the daemon finds the rules file of a container that no longer runs.
/// </summary>
public static class PortForwardRules
{
    public const string TablePrefix = "containerctld-";

    public static string TableName(string container) => TablePrefix + container;

    /// <summary>
    /// The nft script, or null when there is nothing to forward. Traffic to any of the host's own
    /// addresses on hostPort goes to the container: from outside (prerouting) and from the host
    /// itself (output), 127.0.0.1 included — that needs route_localnet on the host end and a
    /// masquerade, because a loopback source cannot leave the host unchanged.
    /// </summary>
    public static string? Render(string container, NetworkSettings network)
    {
        if (network.Mode != NetworkMode.Veth || network.ForwardPorts.Count == 0)
        {
            return null;
        }
        string table = TableName(container);
        string hostEnd = LxcConfigRenderer.HostInterfaceName(container);
        var script = new StringBuilder();
        if (network.LocalAddress is { } local4)
        {
            string target = AddressOnly(local4);
            Table(script, "ip", table, network.ForwardPorts, p => $"{target}:{N(p.ContainerPort)}",
                $"ip saddr 127.0.0.0/8 oifname \"{hostEnd}\" masquerade");
        }
        if (network.LocalAddress6 is { } local6)
        {
            string target = AddressOnly(local6);
            Table(script, "ip6", table, network.ForwardPorts, p => $"[{target}]:{N(p.ContainerPort)}", null);
        }
        return script.ToString();
    }

    private static void Table(StringBuilder script, string family, string table, IReadOnlyList<PortForward> forwards,
        Func<PortForward, string> target, string? postrouting)
    {
        // Declaring, deleting and declaring again makes the script replace a table left by an earlier start.
        script.Append(CultureInfo.InvariantCulture, $"table {family} {table}\ndelete table {family} {table}\ntable {family} {table} {{\n");
        foreach (var (chain, hook, priority) in new[] { ("prerouting", "prerouting", "dstnat"), ("output", "output", "-100") })
        {
            script.Append(CultureInfo.InvariantCulture, $"  chain {chain} {{\n    type nat hook {hook} priority {priority}; policy accept;\n");
            foreach (var forward in forwards)
            {
                script.Append(CultureInfo.InvariantCulture, $"    fib daddr type local {forward.Protocol} dport {N(forward.HostPort)} dnat to {target(forward)}\n");
            }
            script.Append("  }\n");
        }
        if (postrouting is not null)
        {
            script.Append(CultureInfo.InvariantCulture, $"  chain postrouting {{\n    type nat hook postrouting priority srcnat; policy accept;\n    {postrouting}\n  }}\n");
        }
        script.Append("}\n");
    }

    /// <summary>"10.231.0.2/30" → "10.231.0.2".</summary>
    public static string AddressOnly(string cidr) => cidr.Split('/')[0];

    private static string N(int value) => value.ToString(CultureInfo.InvariantCulture);
}
