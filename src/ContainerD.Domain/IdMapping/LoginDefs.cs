using System.Globalization;

namespace ContainerD.Domain.IdMapping;

/// <summary>
/// The subordinate ids useradd hands out, from /etc/login.defs (SUB_UID_MIN, SUB_UID_MAX,
/// SUB_UID_COUNT and the GID ones); shadow's own defaults where a key is missing.
/// </summary>
public sealed record LoginDefs(IdRange SubUids, IdRange SubGids)
{
    private const long DefaultMin = 100_000, DefaultMax = 600_100_000, DefaultCount = 65536;

    public static LoginDefs Parse(string text)
    {
        var values = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (string line in text.Split('\n'))
        {
            var fields = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length >= 2 && !fields[0].StartsWith('#')
                && long.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out long value))
            {
                values[fields[0]] = value;
            }
        }
        IdRange Range(string kind)
        {
            long min = values.GetValueOrDefault($"SUB_{kind}_MIN", DefaultMin);
            long max = values.GetValueOrDefault($"SUB_{kind}_MAX", DefaultMax);
            long count = values.GetValueOrDefault($"SUB_{kind}_COUNT", DefaultCount);
            // useradd picks a range of count ids starting anywhere in min..max.
            return new IdRange(min, Math.Max(0, max - min + count));
        }
        return new LoginDefs(Range("UID"), Range("GID"));
    }
}
