using ContainerD.Contract;
using ContainerD.Daemon.Bus;

namespace ContainerD.Tests.Contract;

/// <summary>
/// The contract named once: Wire's table, the introspection XML the daemon serves and the
/// daemon's handlers agree member by member. The client calls through Wire, which checks the
/// arguments it writes against the member's signature.
/// </summary>
public sealed class WireTests
{
    private static readonly InterfaceSpec[] Specs = [Introspection.ManagerSpec, Introspection.ContainerSpec, Introspection.JobSpec];

    /// <summary>The Manager's handlers are its operations' verbs: ManagerVerbTests, in the daemon tests, holds them to the XML.</summary>
    private static readonly (InterfaceSpec Spec, IEnumerable<string> Handled)[] Handlers =
    [
        (Introspection.ContainerSpec, ContainerObject.HandledMembers),
        (Introspection.JobSpec, JobObject.HandledMembers),
    ];

    public static TheoryData<string, string> Members()
    {
        var data = new TheoryData<string, string>();
        foreach (var m in Wire.Members)
        {
            data.Add(m.Interface, m.Name);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Members))]
    public void Each_member_has_the_xml_signature(string @interface, string name)
    {
        var member = Wire.Of(@interface, name);
        var spec = Specs.Single(s => s.Name == @interface);
        var declared = member.Kind == WireKind.Method ? spec.Methods[name] : spec.Signals[name];
        Assert.Equal(member.In, declared.InSignature);
        Assert.Equal(member.Out, declared.OutSignature);
    }

    [Fact]
    public void The_xml_declares_exactly_the_table_and_the_daemon_handles_every_method()
    {
        foreach (var spec in Specs)
        {
            var methods = Wire.Members.Where(m => m.Interface == spec.Name && m.Kind == WireKind.Method).Select(m => m.Name).Order().ToArray();
            var signals = Wire.Members.Where(m => m.Interface == spec.Name && m.Kind == WireKind.Signal).Select(m => m.Name).Order().ToArray();
            Assert.Equal(spec.Methods.Keys.Order(), methods);
            Assert.Equal(spec.Signals.Keys.Order(), signals);
        }
        foreach (var (spec, handled) in Handlers)
        {
            Assert.Equal(spec.Methods.Keys.Order(), handled.Order());
        }
    }

    [Fact]
    public void A_member_outside_the_contract_is_a_bug()
    {
        Assert.Throws<ArgumentException>(() => Wire.Of("Frobnicate"));
        Assert.Equal("uosssss", Wire.Of(Wire.Manager.JobRemoved).Signature);
        Assert.Equal("sb", Wire.Of(Wire.Manager.StopContainer).Signature);
    }
}
