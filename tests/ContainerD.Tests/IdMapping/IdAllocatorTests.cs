using ContainerD.Domain;
using ContainerD.Domain.IdMapping;

namespace ContainerD.Tests.IdMapping;

public sealed class IdAllocatorTests
{
    private const long Size = 65536;
    private static readonly IdRange Pool = new(100_000, 10 * Size);

    [Fact]
    public void Ranges_are_aligned_from_the_pool_base_lowest_first_and_never_overlap()
    {
        var allocator = new IdAllocator(Pool, []);
        var a = allocator.Allocate("a", Size);
        var b = allocator.Allocate("b", 2 * Size);
        var c = allocator.Allocate("c", Size);
        Assert.Equal(new IdRange(100_000, Size), a);
        Assert.Equal(new IdRange(100_000 + Size, 2 * Size), b);
        Assert.Equal(new IdRange(100_000 + 3 * Size, Size), c);
        Assert.False(a.Overlaps(b) || b.Overlaps(c) || a.Overlaps(c));
    }

    [Fact]
    public void A_freed_range_is_handed_out_again()
    {
        var allocator = new IdAllocator(Pool, []);
        allocator.Allocate("a", Size);
        var b = allocator.Allocate("b", Size);
        allocator.Allocate("c", Size);
        allocator.Free("b");
        Assert.Equal(b, allocator.Allocate("d", Size));
        Assert.False(allocator.Allocated.ContainsKey("b"));
    }

    [Fact]
    public void Another_users_subuid_entry_is_skipped_and_the_next_range_stays_aligned()
    {
        // A foreign entry in the middle of the second slot: the allocator jumps past it to the next aligned start.
        var allocator = new IdAllocator(Pool, [("alice", new IdRange(100_000 + Size + 10, 100))]);
        Assert.Equal(new IdRange(100_000, Size), allocator.Allocate("a", Size));
        Assert.Equal(new IdRange(100_000 + 2 * Size, Size), allocator.Allocate("b", Size));
    }

    [Fact]
    public void Foreign_entries_outside_the_pool_are_irrelevant()
    {
        var allocator = new IdAllocator(Pool, [("bob", new IdRange(1, 99_999)), ("carol", new IdRange(Pool.End, 1_000_000))]);
        Assert.Equal(new IdRange(100_000, Size), allocator.Allocate("a", Size));
    }

    [Fact]
    public void An_exhausted_pool_is_NoFreeRange()
    {
        var allocator = new IdAllocator(new IdRange(100_000, 2 * Size), []);
        allocator.Allocate("a", Size);
        allocator.Allocate("b", Size);
        var e = Assert.Throws<ContainerDException>(() => allocator.Allocate("c", Size));
        Assert.Equal(ErrorKind.NoFreeRange, e.Kind);
        Assert.Contains("100000-231071", e.Message);
    }

    [Fact]
    public void A_range_too_large_for_what_is_left_is_NoFreeRange()
    {
        var allocator = new IdAllocator(new IdRange(100_000, 3 * Size), []);
        allocator.Allocate("a", Size);
        Assert.Equal(ErrorKind.NoFreeRange, Assert.Throws<ContainerDException>(() => allocator.Allocate("big", 3 * Size)).Kind);
        Assert.Equal(new IdRange(100_000 + Size, 2 * Size), allocator.Allocate("fits", 2 * Size));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1000)]
    [InlineData(65537)]
    [InlineData(-65536)]
    public void Sizes_must_be_positive_multiples_of_65536(long size)
    {
        var e = Assert.Throws<ContainerDException>(() => new IdAllocator(Pool, []).Allocate("a", size));
        Assert.Equal(ErrorKind.InvalidDefinition, e.Kind);
    }

    [Fact]
    public void A_fixed_base_is_taken_as_given_when_free_and_aligned()
    {
        var allocator = new IdAllocator(Pool, []);
        Assert.Equal(new IdRange(6 * Size, Size), allocator.Allocate("fixed", Size, 6 * Size));
        // The lowest-first search goes around it.
        Assert.Equal(new IdRange(100_000, Size), allocator.Allocate("a", Size));
    }

    [Theory]
    [InlineData(100_001)]          // not a multiple of 65536
    [InlineData(100_000 + Size)]   // a multiple of 65536 from the pool's start only
    [InlineData(50_000)]           // below the pool
    [InlineData(100_000 + 10 * Size)] // starts at the pool's end
    [InlineData(100_000 + 9 * Size + Size / 2)] // runs past the pool's end
    public void A_fixed_base_outside_the_pool_or_unaligned_is_refused(long fixedBase)
    {
        var e = Assert.Throws<ContainerDException>(() => new IdAllocator(Pool, []).Allocate("a", Size, fixedBase));
        Assert.Equal(ErrorKind.InvalidDefinition, e.Kind);
        Assert.Contains("idmap.base", e.Message);
    }

    [Fact]
    public void A_fixed_base_works_in_a_pool_that_starts_off_the_65536_grid()
    {
        // The pool 100000 (the old default) starts between multiples of 65536; the definition parser
        // admits only multiples of 65536 as idmap.base, so the allocator must take those.
        var allocator = new IdAllocator(Pool, []);
        Assert.Equal(new IdRange(2 * Size, Size), allocator.Allocate("two", Size, 2 * Size));
        Assert.Equal(new IdRange(9 * Size, 2 * Size), allocator.Allocate("nine", 2 * Size, 9 * Size));
        // Around them, the lowest free ranges from the pool's start.
        Assert.Equal(new IdRange(100_000 + 2 * Size, Size), allocator.Allocate("a", Size));
        Assert.Equal(new IdRange(100_000 + 3 * Size, Size), allocator.Allocate("b", Size));
        var e = Assert.Throws<ContainerDException>(() => allocator.Allocate("over", Size, 3 * Size));
        Assert.Contains("container 'a'", e.Message);
    }

    [Fact]
    public void A_fixed_base_over_another_container_is_refused_naming_it()
    {
        var allocator = new IdAllocator(Pool, []);
        allocator.Allocate("web", 2 * Size);
        var e = Assert.Throws<ContainerDException>(() => allocator.Allocate("db", Size, 2 * Size)); // inside web's 100000-231071
        Assert.Equal(ErrorKind.InvalidDefinition, e.Kind);
        Assert.Contains("container 'web'", e.Message);
        Assert.False(allocator.Allocated.ContainsKey("db"));
    }

    [Fact]
    public void Persisted_ranges_are_reserved_at_start_and_a_collision_is_an_error()
    {
        var allocator = new IdAllocator(Pool, []);
        allocator.Reserve("old", new IdRange(100_000 + Size, Size));
        Assert.Equal(new IdRange(100_000, Size), allocator.Allocate("a", Size));
        Assert.Equal(new IdRange(100_000 + 2 * Size, Size), allocator.Allocate("b", Size));
        Assert.Throws<ContainerDException>(() => allocator.Reserve("clash", new IdRange(100_000 + Size, Size)));
    }
}
