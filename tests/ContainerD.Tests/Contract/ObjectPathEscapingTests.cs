using ContainerD.Contract;

namespace ContainerD.Tests.Contract;

public sealed class ObjectPathEscapingTests
{
    [Theory]
    [InlineData("web", "web")]
    [InlineData("my-app", "my_2dapp")]
    [InlineData("a.b/c", "a_2eb_2fc")]
    [InlineData("", "_")]
    [InlineData("é", "_c3_a9")]
    [InlineData("_", "_5f")]
    public void Escapes_as_systemd_does(string name, string element)
    {
        Assert.Equal(element, ObjectPathEscaping.Escape(name));
        Assert.Equal(name, ObjectPathEscaping.Unescape(element));
    }

    [Theory]
    [InlineData("_2")]
    [InlineData("_zz")]
    [InlineData("a-b")]
    public void Rejects_what_Escape_never_produces(string element) => Assert.Null(ObjectPathEscaping.Unescape(element));

    [Fact]
    public void Paths_are_built_from_the_escaped_name_and_the_job_id()
    {
        Assert.Equal("/io/containerctl/ContainerD1/container/my_2dapp", Names.ContainerPath("my-app"));
        Assert.Equal("/io/containerctl/ContainerD1/job/42", Names.JobPath(42));
        Assert.Equal(42u, ContainerDClient.JobId(Names.JobPath(42)));
        Assert.Equal("io.containerctl.ContainerD1.Error.NoSuchContainer", Names.Error("NoSuchContainer"));
    }
}
