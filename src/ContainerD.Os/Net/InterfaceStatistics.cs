using System.Globalization;
using ContainerD.Domain.Lxc;

namespace ContainerD.Os.Net;

/// <summary>
/// A container's traffic, read on the host from its veth's host end (/sys/class/net/IF/statistics),
/// which the daemon named itself: nothing inside the container is asked or entered.
/// </summary>
public static class InterfaceStatistics
{
    /// <summary>
    /// The counters as the container sees them on containerSideName, or null when the host end is
    /// not there; read through files (kept open) when given.
    /// </summary>
    public static InterfaceCounters? ReadHostEnd(string hostInterface, string containerSideName, UsageFiles? files = null, string root = "/")
    {
        string dir = Path.Combine(root, "sys/class/net", hostInterface, "statistics");
        // Null when the container stopped meanwhile and its veth went with it.
        ulong? Counter(string name) => (files is null ? KernelFile.Read(Path.Combine(dir, name)) : files.Read(Path.Combine(dir, name))) is { } text
            && ulong.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out ulong value) ? value : null;
        return Counter("rx_bytes") is { } rxBytes && Counter("rx_packets") is { } rxPackets
            && Counter("tx_bytes") is { } txBytes && Counter("tx_packets") is { } txPackets
            ? InterfaceCounters.FromHostEnd(containerSideName, rxBytes, rxPackets, txBytes, txPackets)
            : null;
    }
}
