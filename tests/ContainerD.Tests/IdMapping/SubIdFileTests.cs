using ContainerD.Domain.IdMapping;

namespace ContainerD.Tests.IdMapping;

public sealed class SubIdFileTests
{
    private static readonly HashSet<string> Root = ["root", "0"];

    [Fact]
    public void Entries_skip_comments_blank_and_malformed_lines()
    {
        var file = new SubIdFile("# admin's note\nalice:100000:65536\n\nbroken line\nbob:x:1\n  carol:300000:10  \nzero:1:0\n");
        Assert.Equal([("alice", new IdRange(100_000, 65536)), ("carol", new IdRange(300_000, 10))], file.Entries.ToArray());
    }

    [Fact]
    public void Adding_an_entry_keeps_every_other_line_byte_for_byte()
    {
        const string text = "# keep me\nalice:165536:65536\n\tweird:stuff\nbob:231072:65536";
        string updated = new SubIdFile(text).WithEntry("root", new IdRange(1_000_000, 65536 * 10));
        Assert.Equal(text + "\nroot:1000000:655360\n", updated);
        Assert.Equal("root:5:65536\n", new SubIdFile("").WithEntry("root", new IdRange(5, 65536)));
        Assert.Equal("a:1:1\nroot:5:65536\n", new SubIdFile("a:1:1\n").WithEntry("root", new IdRange(5, 65536)));
    }

    [Fact]
    public void Coverage_may_come_from_several_adjacent_entries_under_either_alias()
    {
        var file = new SubIdFile("root:100000:50000\n0:150000:50000\n");
        Assert.True(file.Covers(Root, new IdRange(100_000, 100_000)));
        Assert.False(file.Covers(Root, new IdRange(100_000, 100_001)));
        Assert.False(file.Covers(Root, new IdRange(99_999, 10)));
        Assert.False(new SubIdFile("root:100000:10\nroot:100011:10\n").Covers(Root, new IdRange(100_000, 21))); // a gap
        Assert.False(new SubIdFile("alice:100000:1000000\n").Covers(Root, new IdRange(100_000, 10)));
    }

    [Fact]
    public void Foreign_entries_are_everyone_elses()
    {
        var file = new SubIdFile("root:100000:65536\n0:1:1\nalice:200000:65536\n");
        Assert.Equal([("alice", new IdRange(200_000, 65536))], file.ForeignTo(Root).ToArray());
    }
}
