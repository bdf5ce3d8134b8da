using ContainerD.Contract;
using Tmds.DBus.Protocol;

namespace ContainerD.Cli;

/// <summary>One interface's counters from the container's side (Rx: what came in to it).</summary>
public sealed record InterfaceFigures(string Name, ulong RxBytes, ulong RxPackets, ulong TxBytes, ulong TxPackets);

/// <summary>
/// GetUsage's a{sv} as the CLI reads it: the t figures by key (UsageKeys), absent where the daemon
/// left them out, and the interfaces. An empty one is a container that is not running.
/// </summary>
public sealed record UsageFigures(IReadOnlyDictionary<string, ulong> Values, IReadOnlyList<InterfaceFigures> Interfaces)
{
    public static UsageFigures None { get; } = new(new Dictionary<string, ulong>(), []);

    public ulong? this[string key] => Values.TryGetValue(key, out ulong value) ? value : null;

    public bool IsEmpty => Values.Count == 0 && Interfaces.Count == 0;

    /// <summary>How many GetUsage calls one scrape keeps under way at once.</summary>
    public const int InFlight = 32;

    /// <summary>
    /// The figures of each running container of the list, InFlight calls under way at a time: nearly
    /// one round trip's wait for a few, and for a thousand no queue of a thousand calls at the bus
    /// and the daemon in front of another client's call. A container that stopped or went
    /// meanwhile is left out.
    /// </summary>
    public static async Task<Dictionary<string, UsageFigures>> OfRunningAsync(ContainerDClient client, IEnumerable<ContainerSummary> containers)
    {
        var running = containers.Where(c => c.State == "running").ToList();
        using var window = new SemaphoreSlim(InFlight);
        async Task<Dictionary<string, VariantValue>> AskAsync(string path)
        {
            await window.WaitAsync().ConfigureAwait(false);
            try
            {
                return await client.GetUsageAsync(path).ConfigureAwait(false);
            }
            finally
            {
                window.Release();
            }
        }
        var asked = running.Select(c => AskAsync(c.Path)).ToList();
        var figures = new Dictionary<string, UsageFigures>(StringComparer.Ordinal);
        for (int i = 0; i < running.Count; i++)
        {
            try
            {
                var usage = From(await asked[i].ConfigureAwait(false));
                if (!usage.IsEmpty)
                {
                    figures[running[i].Name] = usage; // empty: it stopped meanwhile
                }
            }
            catch (DBusErrorReplyException e) when (ExitCodes.ForError(e.ErrorName) == ExitCodes.NotFound)
            {
                // destroyed meanwhile
            }
        }
        return figures;
    }

    /// <summary>Reads the reply; keys it does not know (a newer daemon's) are skipped, not errors.</summary>
    public static UsageFigures From(Dictionary<string, VariantValue> usage)
    {
        var values = new Dictionary<string, ulong>(StringComparer.Ordinal);
        var interfaces = new List<InterfaceFigures>();
        foreach (var (key, value) in usage)
        {
            if (value.Type == VariantValueType.UInt64)
            {
                values[key] = value.GetUInt64();
            }
            else if (key == UsageKeys.Interfaces && value.Type == VariantValueType.Dictionary)
            {
                for (int i = 0; i < value.Count; i++)
                {
                    var entry = value.GetDictionaryEntry(i);
                    var counters = new Dictionary<string, ulong>(StringComparer.Ordinal);
                    for (int j = 0; j < entry.Value.Count; j++)
                    {
                        var counter = entry.Value.GetDictionaryEntry(j);
                        counters[counter.Key.GetString()] = counter.Value.GetUInt64();
                    }
                    ulong Counter(string name) => counters.GetValueOrDefault(name);
                    interfaces.Add(new InterfaceFigures(entry.Key.GetString(), Counter(InterfaceKeys.RxBytes), Counter(InterfaceKeys.RxPackets),
                        Counter(InterfaceKeys.TxBytes), Counter(InterfaceKeys.TxPackets)));
                }
            }
        }
        return new UsageFigures(values, interfaces);
    }
}
