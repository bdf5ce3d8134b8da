namespace ContainerD.Domain.IdMapping;

/// <summary>A half-open range of host ids [Start, Start+Count).</summary>
public readonly record struct IdRange(long Start, long Count)
{
    public long End => Start + Count;
    public bool Overlaps(IdRange other) => Start < other.End && other.Start < End;
    public bool Contains(IdRange other) => Start <= other.Start && other.End <= End;
    public override string ToString() => $"{Start}-{End - 1}";
}
