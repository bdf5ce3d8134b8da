using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using ContainerD.Domain.Yaml;

namespace ContainerD.Domain.Definitions;

public static partial class DefinitionParser
{
    private static readonly string[] NetworkKeys =
        ["mode", "bridge", "hostAddress", "localAddress", "hostAddress6", "localAddress6", "forwardPorts"];

    private static readonly string[] PortForwardKeys = ["hostPort", "containerPort", "protocol"];

    private static NetworkSettings? ReadNetwork(YamlMap map)
    {
        var network = map.Section("network", NetworkKeys);
        switch (network?.Word("mode", "none", "none", "veth"))
        {
            case null:
                return null;
            case "none":
                foreach (var key in NetworkKeys.Where(key => key != "mode" && network.Has(key)))
                    network.Error(key, $"network.{key} needs network.mode veth");
                return NetworkSettings.None;
        }

        var bridge = Bridge(network);
        var hostAddress = Address(network, "hostAddress", AddressFamily.InterNetwork);
        var localAddress = Address(network, "localAddress", AddressFamily.InterNetwork);
        var hostAddress6 = Address(network, "hostAddress6", AddressFamily.InterNetworkV6);
        var localAddress6 = Address(network, "localAddress6", AddressFamily.InterNetworkV6);

        // A veth either joins a host bridge (the container may have its own address on it) or is a
        // point-to-point link, which needs both ends' addresses.
        if (network.Has("bridge"))
        {
            foreach (var key in new[] { "hostAddress", "hostAddress6" }.Where(network.Has))
                network.Error(key, $"network.{key} is the host end of a point-to-point link; it cannot be combined with network.bridge");
        }
        else
        {
            BothEnds(network, "hostAddress", "localAddress");
            BothEnds(network, "hostAddress6", "localAddress6");
            if (!new[] { "hostAddress", "localAddress", "hostAddress6", "localAddress6" }.Any(network.Has))
                network.Error("network.mode veth needs network.bridge, or network.hostAddress and network.localAddress");
        }

        var forwards = ForwardPorts(network);
        if (forwards.Count > 0 && !network.Has("localAddress") && !network.Has("localAddress6"))
            network.Error("forwardPorts", "network.forwardPorts needs network.localAddress (or localAddress6) to forward to");

        return new NetworkSettings(NetworkMode.Veth, bridge, hostAddress, localAddress, hostAddress6, localAddress6, forwards);
    }

    private static string? Bridge(YamlMap network)
    {
        var bridge = network.String("bridge");
        if (bridge is not null && (!InterfaceName().IsMatch(bridge) || bridge is "." or ".."))
            network.Error("bridge", $"network.bridge {YamlText.Quote(bridge)} is not an interface name: 1 to 15 letters, digits, '_', '.' or '-'");
        return bridge;
    }

    private static void BothEnds(YamlMap network, string hostKey, string localKey)
    {
        if (network.Has(hostKey) && !network.Has(localKey))
            network.Error(hostKey, $"network.{hostKey} needs network.{localKey}, the container's end of the link");
        if (network.Has(localKey) && !network.Has(hostKey))
            network.Error(localKey, $"network.{localKey} needs network.{hostKey}, the host's end of the link, or network.bridge");
    }

    /// <summary>An interface address in CIDR form, "10.233.1.2/24" or "fd00::2/64", kept as written.</summary>
    private static string? Address(YamlMap network, string key, AddressFamily family)
    {
        var text = network.String(key);
        if (text is null || IsCidrAddress(text, family))
            return text;
        var example = family == AddressFamily.InterNetwork ? "an IPv4 address with a prefix length, such as 10.233.1.2/24" : "an IPv6 address with a prefix length, such as fd00::2/64";
        network.Error(key, $"network.{key} {YamlText.Quote(text)} is not {example}");
        return null;
    }

    // Not IPNetwork.TryParse: it wants a network (host bits zero), and this is an interface address.
    private static bool IsCidrAddress(string text, AddressFamily family)
    {
        var slash = text.IndexOf('/');
        if (slash < 0)
            return false;
        var (address, prefix) = (text[..slash], text[(slash + 1)..]);
        var maxPrefix = family == AddressFamily.InterNetwork ? 32 : 128;
        return IPAddress.TryParse(address, out var ip)
            && ip.AddressFamily == family
            // IPAddress also takes "10.1" and "10.0.0.1%eth0"; only plain forms are meant here.
            && (family == AddressFamily.InterNetworkV6 ? !address.Contains('%') : ip.ToString() == address)
            && int.TryParse(prefix, NumberStyles.None, CultureInfo.InvariantCulture, out var bits)
            && bits >= 1 && bits <= maxPrefix;
    }

    private static List<PortForward> ForwardPorts(YamlMap network)
    {
        var forwards = new List<PortForward>();
        var seen = new Dictionary<(long, string), string>(); // (host port, protocol) → the entry that has it
        var items = network.List("forwardPorts");
        for (var i = 0; i < items.Count; i++)
        {
            var forward = YamlMap.Read(items[i], $"network.forwardPorts[{i}]", network.Errors, PortForwardKeys);
            if (forward is null)
                continue;
            var hostPort = Port(forward, "hostPort", required: true);
            var containerPort = Port(forward, "containerPort", required: false) ?? hostPort;
            var protocol = forward.Word("protocol", "tcp", "tcp", "udp");
            if (hostPort is null || containerPort is null || protocol is null)
                continue;
            if (!seen.TryAdd((hostPort.Value, protocol), forward.Path))
                forward.Error("hostPort", $"{forward.PathOf("hostPort")} {hostPort} ({protocol}) is already forwarded by {seen[(hostPort.Value, protocol)]}");
            forwards.Add(new PortForward((int)hostPort, (int)containerPort, protocol));
        }
        return forwards;
    }

    private static long? Port(YamlMap forward, string key, bool required)
    {
        if (!forward.Has(key))
        {
            if (required)
                forward.Missing(key);
            return null;
        }
        var port = forward.Integer(key);
        if (port is null or (>= 1 and <= 65535))
            return port;
        forward.Error(key, $"{forward.PathOf(key)} {port} is not a port number (1 to 65535)");
        return null;
    }

    // Linux's rule for interface names (IFNAMSIZ 16 with the NUL), kept to characters safe in any tool.
    [GeneratedRegex("^[A-Za-z0-9_.-]{1,15}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex InterfaceName();
}
