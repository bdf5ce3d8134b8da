using ContainerD.Contract;
using ContainerD.Daemon.Bus;
using ContainerD.Domain.Configuration;
using ContainerD.Domain.IdMapping;
using ContainerD.Domain.Lxc;

namespace ContainerD.DaemonTests;

/// <summary>
/// The Manager routes every change to the operation that declares it: its methods are exactly the
/// XML's, each declared by one verb, so a verb is added in its operation file and nowhere in the bus layer.
/// </summary>
public sealed class ManagerVerbTests : IDisposable
{
    private static readonly HostFeatures Host = new(IdmappedMounts: false, AppArmor: false, SeccompProfile: null,
        CgroupV2Controllers: new HashSet<string> { "memory", "cpu", "pids" }, CgroupV1Controllers: new HashSet<string>());

    private readonly ScriptedDaemon _daemon = new(new ScriptedRunner(), Host, new IdRange(1_073_741_824, 65_536));

    public void Dispose() => _daemon.Dispose();

    [Fact]
    public void The_manager_handles_exactly_the_methods_of_its_xml()
    {
        var handled = ManagerObject.HandledMembers(_daemon.Operations).ToArray();
        Assert.Equal(handled.Length, handled.Distinct().Count());
        Assert.Equal(Introspection.ManagerSpec.Methods.Keys.Order(), handled.Order());
    }

    [Fact]
    public void Each_verb_declares_methods_of_the_contract_that_no_other_verb_declares()
    {
        var members = _daemon.Operations.Verbs.SelectMany(verb => verb.Members.Select(member => (member, verb))).ToArray();
        Assert.All(members, m => Assert.Equal(WireKind.Method, Wire.Of(Names.ManagerInterface, m.member).Kind));
        Assert.Equal(members.Length, members.Select(m => m.member).Distinct().Count());
        Assert.Equal(_daemon.Operations.Verbs.Count, _daemon.Operations.Verbs.Distinct().Count());
    }
}
