using ContainerD.Domain;
using ContainerD.Domain.Definitions;
using ContainerD.Domain.Lxc;
using ContainerD.Domain.Networking;
using ContainerD.Os.Processes;

namespace ContainerD.Os.Net;

/// <summary>
/// The host's side of a container's network: the host end of a point-to-point veth (its address,
/// up) and the port forwards (an nftables table per container). ip and nft run by argv; nft reads
/// its rules from a file the daemon wrote.
/// </summary>
public sealed class HostNetwork
{
    /// <summary>After lxc-start: gives the host end its address(es) and brings it up; adds the port forwards.</summary>
    public async Task SetUpAsync(string container, NetworkSettings network, string rulesFile, CancellationToken cancellationToken)
    {
        if (network.Mode != NetworkMode.Veth)
        {
            return;
        }
        string hostEnd = LxcConfigRenderer.HostInterfaceName(container);
        if (network.HostAddress is { } address4)
        {
            await RunAsync("ip", ["-4", "addr", "replace", address4, "dev", hostEnd], cancellationToken).ConfigureAwait(false);
        }
        if (network.HostAddress6 is { } address6)
        {
            // nodad: the link has two ends, both ours; waiting for duplicate detection only delays the first packet.
            await RunAsync("ip", ["-6", "addr", "replace", address6, "dev", hostEnd, "nodad"], cancellationToken).ConfigureAwait(false);
        }
        if (network.Bridge is null)
        {
            await RunAsync("ip", ["link", "set", "dev", hostEnd, "up"], cancellationToken).ConfigureAwait(false);
        }
        if (PortForwardRules.Render(container, network) is { } rules)
        {
            // Packets from 127.0.0.1 may leave through this interface only (they are masqueraded on the way).
            File.WriteAllText($"/proc/sys/net/ipv4/conf/{hostEnd}/route_localnet", "1");
            AtomicFile.Write(rulesFile, rules, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            await RunAsync("nft", ["-f", rulesFile], cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Removes a container's port forwards; the veth itself goes with the container's namespace.
    /// Set-up writes the rules file before it loads the rules and tear-down deletes it last, so the
    /// file says whether there is anything to remove: without it nft is not even asked (a stop would
    /// otherwise pay for it every time), and another daemon's tables of the same name are left alone.
    /// </summary>
    public async Task TearDownAsync(string container, string rulesFile, CancellationToken cancellationToken = default)
    {
        if (!File.Exists(rulesFile))
        {
            return;
        }
        foreach (string family in (string[])["ip", "ip6"])
        {
            var output = await CommandRunner.RunAsync("nft", ["delete", "table", family, PortForwardRules.TableName(container)],
                cancellationToken: cancellationToken).ConfigureAwait(false);
            // Gone already (never made for this family, or removed by a concurrent tear-down) is fine.
            if (!output.Succeeded && !output.Stderr.Contains("No such file or directory", StringComparison.Ordinal))
            {
                throw new ContainerDException(ErrorKind.StopFailed, $"nft delete table {family} {PortForwardRules.TableName(container)} failed: {output.StderrTail(3)}");
            }
        }
        File.Delete(rulesFile);
    }

    private static async Task<CommandOutput> RunAsync(string program, IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        var output = await CommandRunner.RunAsync(program, args, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (!output.Succeeded)
        {
            throw new ContainerDException(ErrorKind.StartFailed, $"{program} {string.Join(' ', args)} failed: {output.StderrTail(3)}");
        }
        return output;
    }
}
