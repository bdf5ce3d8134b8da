namespace ContainerD.Domain.IdMapping;

/// <summary>
/// Hands out non-overlapping uid/gid ranges from a pool: aligned to 65536 from the pool's base
/// (a fixed idmap.base: a multiple of 65536),
/// lowest free first, never over a range given to another container or another user's
/// /etc/subuid entry ("foreign"). A sorted map of taken ranges keeps it fast with 15 000 containers.
/// </summary>
public sealed class IdAllocator
{
    public const long Alignment = 65536;

    private readonly IdRange _pool;
    private readonly Dictionary<string, IdRange> _byContainer = new(StringComparer.Ordinal);
    /// <summary>Every taken range by start: containers' and foreign ones, with who holds it.</summary>
    private readonly SortedList<long, (IdRange Range, string Holder)> _taken = [];

    public IdAllocator(IdRange pool, IEnumerable<(string Owner, IdRange Range)> foreign)
    {
        _pool = pool;
        foreach (var (owner, range) in foreign.Where(f => f.Range.Overlaps(pool)))
        {
            // Foreign entries may overlap each other; merging is unnecessary for the fit search below.
            _taken.TryAdd(range.Start, (range, $"the /etc/subuid or /etc/subgid entry of '{owner}' ({range})"));
        }
    }

    public IReadOnlyDictionary<string, IdRange> Allocated => _byContainer;

    public IdRange Allocate(string container, long size, long? fixedBase = null)
    {
        if (_byContainer.ContainsKey(container))
        {
            throw new InvalidOperationException($"container '{container}' has a range already");
        }
        if (size <= 0 || size % Alignment != 0)
        {
            throw new ContainerDException(ErrorKind.InvalidDefinition, $"idmap.size {size} is not a positive multiple of {Alignment}");
        }
        IdRange range = fixedBase is { } start ? CheckFixed(new IdRange(start, size)) : FirstFit(size);
        Take(container, range);
        return range;
    }

    /// <summary>Takes a range persisted earlier (daemon start). Throws if it collides.</summary>
    public void Reserve(string container, IdRange range)
    {
        if (Collision(range) is { } holder)
        {
            throw new ContainerDException(ErrorKind.Failed, $"the persisted range {range} of '{container}' overlaps {holder}");
        }
        Take(container, range);
    }

    public void Free(string container)
    {
        if (_byContainer.Remove(container, out var range))
        {
            _taken.Remove(range.Start);
        }
    }

    private IdRange CheckFixed(IdRange range)
    {
        // A multiple of 65536 itself, as the definition parser checks: not counted from the pool's
        // start, or a pool that starts off the grid (the old default 100000) admitted no base at all.
        if (range.Start <= 0 || range.Start % Alignment != 0 || !_pool.Contains(range))
        {
            throw new ContainerDException(ErrorKind.InvalidDefinition,
                $"idmap.base {range.Start} must be a multiple of {Alignment} in the pool {_pool}, with room for {range.Count} ids");
        }
        if (Collision(range) is { } holder)
        {
            throw new ContainerDException(ErrorKind.InvalidDefinition, $"uid range {range} overlaps {holder}");
        }
        return range;
    }

    private IdRange FirstFit(long size)
    {
        long candidate = _pool.Start;
        foreach (var (range, _) in _taken.Values)
        {
            if (range.Start >= candidate + size)
            {
                break;
            }
            if (range.End > candidate)
            {
                candidate = AlignUp(range.End);
            }
        }
        var result = new IdRange(candidate, size);
        if (!_pool.Contains(result))
        {
            throw new ContainerDException(ErrorKind.NoFreeRange,
                $"no free uid range of {size} ids is left in the pool {_pool}; destroy a container or enlarge idPool.size");
        }
        return result;
    }

    private long AlignUp(long id) => _pool.Start + ((id - _pool.Start + Alignment - 1) / Alignment * Alignment);

    private string? Collision(IdRange range)
    {
        foreach (var (taken, holder) in _taken.Values)
        {
            if (taken.Start >= range.End)
            {
                break;
            }
            if (taken.Overlaps(range))
            {
                return holder;
            }
        }
        return null;
    }

    private void Take(string container, IdRange range)
    {
        _byContainer[container] = range;
        _taken.Add(range.Start, (range, $"container '{container}' ({range})"));
    }
}
