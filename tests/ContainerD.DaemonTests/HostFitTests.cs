using ContainerD.Daemon.Containers;
using ContainerD.Daemon.Jobs;
using ContainerD.Domain;
using ContainerD.Domain.Configuration;
using ContainerD.Domain.IdMapping;
using ContainerD.Domain.Lxc;
using ContainerD.Os;
using ContainerD.Os.Lxc;
using ContainerD.Os.Net;
using ContainerD.Os.Nix;
using Microsoft.Extensions.Logging.Abstractions;

namespace ContainerD.DaemonTests;

/// <summary>What the host cannot do fails the call itself, before any job, build or range is kept.</summary>
public sealed class HostFitTests : IDisposable
{
    private const string Definition = "system: { nix: { file: /etc/containers/web.nix } }\n";

    private static readonly HostFeatures Host = new(IdmappedMounts: false, AppArmor: false, SeccompProfile: null,
        CgroupV2Controllers: new HashSet<string> { "memory", "cpu" }, CgroupV1Controllers: new HashSet<string>());

    private readonly ScriptedRunner _runner = new();
    private readonly ScriptedDaemon _daemon;
    private readonly JobManager _jobs;

    public HostFitTests()
    {
        // One range only: a range a refused create kept would leave none for the next.
        _daemon = new ScriptedDaemon(_runner, Host, new IdRange(1_073_741_824, 65_536));
        _jobs = _daemon.Jobs;
    }

    public void Dispose() => _daemon.Dispose();

    [Theory]
    [InlineData("limits: { pids: 100 }\n", "limits: the pids limit cannot be applied: no pids cgroup controller is mounted on this host")]
    [InlineData("bindMounts: [{ host: /srv/m, container: /m, idmapped: true }]\n", "bind mount /srv/m asks for idmapped: true, but this host cannot make idmapped mounts")]
    public void A_create_this_host_cannot_run_is_refused_before_the_build(string extra, string message)
    {
        foreach (string name in new[] { "web", "db" })
        {
            var e = Assert.Throws<ContainerDException>(() => _daemon.Operations.Create.Begin(name, Definition + extra, Caller.Root));
            Assert.Equal((ErrorKind.HostUnsupported, message), (e.Kind, e.Message));
        }
        Assert.Empty(_runner.Calls);
        Assert.Empty(_jobs.List());
        Assert.Empty(_daemon.Registry.List());
    }
}
