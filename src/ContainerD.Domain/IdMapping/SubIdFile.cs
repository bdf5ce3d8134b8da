using System.Globalization;

namespace ContainerD.Domain.IdMapping;

/// <summary>
/// The text of /etc/subuid or /etc/subgid ("owner:start:count" lines). Adding an entry keeps every
/// other line byte for byte, comments and oddities included: the file belongs to the admin too.
/// </summary>
public sealed class SubIdFile(string text)
{
    public string Text { get; } = text;

    public IEnumerable<(string Owner, IdRange Range)> Entries =>
        Text.Split('\n').Select(Parse).OfType<(string, IdRange)>();

    /// <summary>True when the owner's entries together cover the whole range.</summary>
    public bool Covers(IReadOnlySet<string> ownerAliases, IdRange range)
    {
        long next = range.Start;
        foreach (var owned in Entries.Where(e => ownerAliases.Contains(e.Owner)).Select(e => e.Range).OrderBy(r => r.Start))
        {
            if (owned.Start > next)
            {
                break;
            }
            next = Math.Max(next, owned.End);
            if (next >= range.End)
            {
                return true;
            }
        }
        return next >= range.End;
    }

    /// <summary>The text with "owner:start:count" appended.</summary>
    public string WithEntry(string owner, IdRange range)
    {
        string line = $"{owner}:{range.Start.ToString(CultureInfo.InvariantCulture)}:{range.Count.ToString(CultureInfo.InvariantCulture)}\n";
        return Text.Length == 0 || Text.EndsWith('\n') ? Text + line : Text + "\n" + line;
    }

    /// <summary>Everyone else's ranges: a container's range must never overlap them.</summary>
    public IEnumerable<(string Owner, IdRange Range)> ForeignTo(IReadOnlySet<string> ownerAliases) =>
        Entries.Where(e => !ownerAliases.Contains(e.Owner));

    private static (string, IdRange)? Parse(string line)
    {
        var fields = line.Trim().Split(':');
        return fields.Length == 3 && fields[0].Length > 0 && !fields[0].StartsWith('#')
            && long.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out long start)
            && long.TryParse(fields[2], NumberStyles.None, CultureInfo.InvariantCulture, out long count) && count > 0
            ? (fields[0], new IdRange(start, count))
            : null;
    }
}
