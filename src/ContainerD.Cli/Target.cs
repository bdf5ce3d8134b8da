using ContainerD.Contract;

namespace ContainerD.Cli;

/// <summary>
/// The daemon a command talks to: the one on this machine's bus, or with -H another host's, through
/// ssh — where Bus names the bus on that host.
/// </summary>
/// <param name="SshConfig">--ssh-config: for -H, and for the host copy and move send to.</param>
public sealed record Target(string Bus, SshRoute? Remote = null, string? SshConfig = null)
{
    public Task<ContainerDClient> ConnectAsync() =>
        Remote is null ? ContainerDClient.ConnectAsync(Bus) : ContainerDClient.ConnectAsync(Bus, Remote, Cli.Say);

    /// <summary>"the system bus", "the bus at unix:path=… of root@web1:2222".</summary>
    public string Describe => Remote is null ? BusAddress.Describe(Bus) : $"{BusAddress.Describe(Bus)} of {Remote.Host}";

    /// <summary>How to start it there, for the "is it running?" hint.</summary>
    public string StartHint => Remote is null ? "start it with 'systemctl start containerctld'" : $"start it there with '{Remote.Host.SshCommandLine} systemctl start containerctld'";
}
