using ContainerD.Domain.IdMapping;

namespace ContainerD.Tests.IdMapping;

public class LoginDefsTests
{
    [Fact]
    public void Reads_the_subordinate_ranges_useradd_hands_out()
    {
        var defs = LoginDefs.Parse("# comment\nSUB_UID_MIN\t\t   100000\nSUB_UID_MAX\t\t600100000\nSUB_UID_COUNT\t\t    65536\nSUB_GID_MIN 200000\nSUB_GID_MAX 300000\nSUB_GID_COUNT 1000\n");
        Assert.Equal(new IdRange(100_000, 600_100_000 - 100_000 + 65536), defs.SubUids);
        Assert.Equal(new IdRange(200_000, 101_000), defs.SubGids);
    }

    [Fact]
    public void Missing_keys_are_shadows_defaults()
    {
        var defs = LoginDefs.Parse("");
        Assert.Equal(new IdRange(100_000, 600_100_000 - 100_000 + 65536), defs.SubUids);
        Assert.Equal(defs.SubUids, defs.SubGids);
    }

    [Fact]
    public void The_old_default_pool_covers_useradds_whole_range_and_the_new_one_none_of_it()
    {
        var useradd = LoginDefs.Parse("").SubUids;
        Assert.True(new IdRange(100_000, 1_000_000_000).Contains(useradd));
        Assert.False(ContainerD.Domain.Configuration.DaemonConfig.DefaultIdPool.Overlaps(useradd));
    }
}
