using ContainerD.Contract;

namespace ContainerD.Daemon.Jobs;

/// <summary>
/// How many jobs ended, how and how long they took, per operation and result, since the daemon
/// started: counters and a histogram of durations (Prometheus's le buckets), read over the bus with
/// Manager.GetJobStatistics. A restart starts them from zero, as any counter's reset.
/// </summary>
public sealed class JobStatistics
{
    /// <summary>Upper bounds of the duration buckets, in seconds: a start (10 ms) up to a long Nix build (an hour).</summary>
    public static IReadOnlyList<double> Bounds { get; } = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

    private readonly Lock _lock = new();
    private readonly SortedDictionary<(string Operation, string Result), (ulong Count, double Seconds, ulong[] Buckets)> _rows = new();

    public void Record(string operation, string result, TimeSpan took)
    {
        double seconds = took.TotalSeconds;
        lock (_lock)
        {
            var (count, sum, buckets) = _rows.TryGetValue((operation, result), out var row) ? row : (0UL, 0.0, new ulong[Bounds.Count]);
            for (int i = 0; i < Bounds.Count; i++)
            {
                buckets[i] += seconds <= Bounds[i] ? 1UL : 0UL;
            }
            _rows[(operation, result)] = (count + 1, sum + seconds, buckets);
        }
    }

    /// <summary>Every operation and result seen so far; each row's buckets count the jobs at or under each bound (cumulative).</summary>
    public IReadOnlyList<JobStatisticsRow> Snapshot()
    {
        lock (_lock)
        {
            return _rows.Select(r => new JobStatisticsRow(r.Key.Operation, r.Key.Result, r.Value.Count, r.Value.Seconds, [.. r.Value.Buckets])).ToList();
        }
    }
}
