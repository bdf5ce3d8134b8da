using System.Globalization;
using ContainerD.Domain.Yaml;

namespace ContainerD.Domain.Definitions;

public static partial class DefinitionParser
{
    private const long MinMemory = 4L << 20; // below this a NixOS init cannot even start
    // cpus becomes a CFS quota per 100 ms period; the kernel takes no quota below 1 ms (EINVAL).
    private const double MinCpus = 0.01;
    private const double MaxCpus = 1024;
    private static readonly TimeSpan DefaultStopTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan MaxStopTimeout = TimeSpan.FromHours(1);

    /// <summary>A definition's limits, or (key "defaultLimits") the daemon config's defaults for them.</summary>
    internal static ResourceLimits? ReadLimits(YamlMap map, string key = "limits")
    {
        var limits = map.Section(key, ["memory", "cpus", "pids"]);
        if (limits is null)
            return null;

        var memory = limits.String("memory") is { } memoryText ? Memory(limits, memoryText, key) : null;

        var cpus = limits.Number("cpus");
        if (cpus is < MinCpus or > MaxCpus)
            limits.Error("cpus", $"{key}.cpus {cpus.Value.ToString(CultureInfo.InvariantCulture)} must be at least {MinCpus.ToString(CultureInfo.InvariantCulture)} and at most {MaxCpus}");

        var pids = limits.Integer("pids");
        if (pids is < 1)
            limits.Error("pids", $"{key}.pids {pids} must be at least 1");

        return new ResourceLimits(memory, cpus, pids);
    }

    /// <summary>"512M", "1g", "1073741824": bytes with an optional binary suffix, as cgroup's memory.max takes them.</summary>
    private static long? Memory(YamlMap limits, string text, string key)
    {
        var shift = text.Length == 0 ? 0 : char.ToUpperInvariant(text[^1]) switch { 'K' => 10, 'M' => 20, 'G' => 30, 'T' => 40, _ => 0 };
        var digits = shift == 0 ? text : text[..^1];
        if (digits.Length == 0 || !digits.All(char.IsAsciiDigit)
            || !long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var number)
            || number > long.MaxValue >> shift)
        {
            limits.Error("memory", $"{key}.memory {YamlText.Quote(text)} is not a size such as 512M, 1G or 1073741824");
            return null;
        }
        var bytes = number << shift;
        if (bytes < MinMemory)
        {
            limits.Error("memory", $"{key}.memory {YamlText.Quote(text)} is below the minimum of 4M");
            return null;
        }
        return bytes;
    }

    /// <summary>"30s", "2m", "1500ms", "1h", or a plain number of seconds.</summary>
    private static TimeSpan? ReadStopTimeout(YamlMap map)
    {
        var text = map.String("stopTimeout");
        if (text is null)
            return map.Has("stopTimeout") ? null : DefaultStopTimeout;

        var (digits, unit) = text switch
        {
            _ when text.EndsWith("ms", StringComparison.Ordinal) => (text[..^2], TimeSpan.FromMilliseconds(1)),
            _ when text.EndsWith('s') => (text[..^1], TimeSpan.FromSeconds(1)),
            _ when text.EndsWith('m') => (text[..^1], TimeSpan.FromMinutes(1)),
            _ when text.EndsWith('h') => (text[..^1], TimeSpan.FromHours(1)),
            _ => (text, TimeSpan.FromSeconds(1)),
        };
        if (digits.Length == 0 || !digits.All(char.IsAsciiDigit)
            || !long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var count))
        {
            map.Error("stopTimeout", $"stopTimeout {YamlText.Quote(text)} is not a duration such as 30s, 2m, 1500ms or 30 (seconds)");
            return null;
        }
        // Compared before multiplying, so a huge count cannot overflow.
        if (count == 0 || count > MaxStopTimeout.Ticks / unit.Ticks)
        {
            map.Error("stopTimeout", $"stopTimeout {YamlText.Quote(text)} must be more than 0 and at most 1h");
            return null;
        }
        return unit * count;
    }
}
