using ContainerD.Domain;

namespace ContainerD.Tests.Definitions;

public sealed class SnapshotNameTests
{
    [Theory]
    [InlineData("before-upgrade")]
    [InlineData("20261201-120000")]
    [InlineData("a")]
    public void A_lower_case_word_is_a_snapshot_name(string name) => Assert.Equal(name, SnapshotName.Require(name));

    [Theory]
    [InlineData("")]
    [InlineData("..")]
    [InlineData("../up")]
    [InlineData("a/b")]
    [InlineData("-lead")]
    [InlineData("Upper")]
    [InlineData("tab\tname")]
    [InlineData("ünï")]
    // .NET's $ matches before a last newline: the patterns end in \z.
    [InlineData("s1\n")]
    public void Anything_that_could_reach_another_path_is_refused(string name)
    {
        var e = Assert.Throws<ContainerDException>(() => SnapshotName.Require(name));
        Assert.Equal(ErrorKind.InvalidName, e.Kind);
        Assert.Contains("is not valid", e.Message);
    }

    [Fact]
    public void A_long_name_is_refused_by_its_length_without_being_echoed_whole()
    {
        var e = Assert.Throws<ContainerDException>(() => SnapshotName.Require(new string('a', 64)));
        Assert.Equal("a snapshot name is at most 63 characters", e.Message);
        Assert.Equal(new string('a', 63), SnapshotName.Require(new string('a', 63)));
    }

    [Fact]
    public void The_default_name_is_the_UTC_time_to_the_second()
    {
        var at = new DateTimeOffset(2026, 12, 1, 13, 4, 5, TimeSpan.FromHours(2));
        Assert.Equal("20261201-110405", SnapshotName.ForTime(at));
        Assert.Equal("20261201-110405", SnapshotName.Require(SnapshotName.ForTime(at)));
    }

    [Theory]
    [InlineData("web\n")]
    [InlineData("web\r\n")]
    [InlineData("\nweb")]
    public void A_container_name_with_a_line_break_is_not_valid(string name)
    {
        Assert.False(ContainerName.IsValid(name));
        Assert.Equal(ErrorKind.InvalidName, Assert.Throws<ContainerDException>(() => ContainerName.Require(name)).Kind);
    }
}
