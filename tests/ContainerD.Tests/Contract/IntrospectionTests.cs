using System.Text;
using System.Xml.Linq;
using ContainerD.Contract;

namespace ContainerD.Tests.Contract;

/// <summary>The served interfaces are the contract: well-formed, named as DESIGN.md names them.</summary>
public sealed class IntrospectionTests
{
    public static TheoryData<string, string> Interfaces => new()
    {
        { "Manager", Names.ManagerInterface },
        { "Container", Names.ContainerInterface },
        { "Job", Names.JobInterface },
    };

    [Theory]
    [MemberData(nameof(Interfaces))]
    public void Each_interface_xml_is_well_formed_and_named(string which, string name)
    {
        var xml = which switch { "Manager" => Introspection.Manager, "Container" => Introspection.Container, _ => Introspection.Job };
        var element = XElement.Parse(Encoding.UTF8.GetString(xml.Span));
        Assert.Equal("interface", element.Name.LocalName);
        Assert.Equal(name, element.Attribute("name")?.Value);
    }

    [Fact]
    public void The_manager_has_the_methods_and_signals_of_the_design()
    {
        var element = XElement.Parse(Encoding.UTF8.GetString(Introspection.Manager.Span));
        string Signature(string kind, string member) => string.Concat(element.Elements(kind)
            .Single(e => e.Attribute("name")!.Value == member).Elements("arg")
            .Select(a => (a.Attribute("direction")?.Value == "out" ? "→" : "") + a.Attribute("type")!.Value));

        Assert.Equal("→a(ssuuuuo)", Signature("method", "ListContainers"));
        Assert.Equal("ss→o", Signature("method", "CreateContainer"));
        Assert.Equal("sb→o", Signature("method", "StopContainer"));
        Assert.Equal("su→o", Signature("method", "RollbackContainer"));
        Assert.Equal("s→a(utsb)", Signature("method", "ListGenerations"));
        Assert.Equal("→a(ussso)", Signature("method", "ListJobs"));
        Assert.Equal("uosssss", Signature("signal", "JobRemoved"));
        Assert.Equal("us", Signature("signal", "JobLog"));
    }
}
