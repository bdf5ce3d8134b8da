using System.Collections.Concurrent;
using ContainerD.Os.Processes;

namespace ContainerD.Daemon.Containers;

/// <summary>
/// What each container's writable root takes on disk, measured off the call path: a call gets the
/// last figure at once and, when that figure is due, queues a new walk. One thread walks, one root
/// at a time, at the lowest CPU and I/O priority, so a root of millions of files slows nothing but
/// its own figure. A root is walked again at most every MinInterval, and never more often than
/// DurationFactor times its last walk took (a walk of 1 s: at most one every 20 s), so the walks
/// take at most a twentieth of one core however often clients ask.
/// </summary>
public sealed class RootDiskMonitor(Func<string, CancellationToken, ulong> measure, TimeProvider time)
{
    public static readonly TimeSpan MinInterval = TimeSpan.FromSeconds(2);
    public const int DurationFactor = 20;

    private readonly Lock _lock = new();
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly BlockingCollection<(string Name, string Root)> _queue = [];
    private Thread? _walker;

    /// <summary>The last figure (null before the first walk ended, or when every walk failed) and when it was taken.</summary>
    public readonly record struct Figure(ulong? Bytes, DateTimeOffset? MeasuredAt);

    private sealed class Entry
    {
        public ulong? Bytes;
        public DateTimeOffset? MeasuredAt;
        /// <summary>When the last walk ended, failed or not; null before the first.</summary>
        public DateTimeOffset? Attempted;
        public TimeSpan Took;
        public bool Queued;
        /// <summary>Completed when the walk under way (or queued) ends.</summary>
        public TaskCompletionSource Walked = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>
    /// The figure for name's root; a walk is queued when it is due. A root never measured yet waits
    /// for its first walk up to firstWait (a small root takes milliseconds), then answers without it.
    /// </summary>
    public async Task<Figure> GetAsync(string name, string root, TimeSpan firstWait)
    {
        Task walked;
        lock (_lock)
        {
            if (!_entries.TryGetValue(name, out var entry))
            {
                _entries[name] = entry = new Entry();
            }
            var now = time.GetUtcNow();
            bool due = entry.Attempted is not { } last || now - last >= Interval(entry.Took);
            if (due && !entry.Queued)
            {
                entry.Queued = true;
                EnsureWalker();
                _queue.Add((name, root));
            }
            if (entry.Attempted is not null || !entry.Queued)
            {
                return new Figure(entry.Bytes, entry.MeasuredAt);
            }
            walked = entry.Walked.Task;
        }
        await Task.WhenAny(walked, Task.Delay(firstWait, time)).ConfigureAwait(false);
        lock (_lock)
        {
            return _entries.TryGetValue(name, out var entry) ? new Figure(entry.Bytes, entry.MeasuredAt) : default;
        }
    }

    /// <summary>A container that is gone: its figure goes too (a walk under way finishes into nothing).</summary>
    public void Forget(string name)
    {
        lock (_lock)
        {
            if (_entries.Remove(name, out var entry))
            {
                entry.Walked.TrySetResult();
            }
        }
    }

    /// <summary>How long a root's figure stands, given how long its last walk took.</summary>
    public static TimeSpan Interval(TimeSpan took) => took * DurationFactor > MinInterval ? took * DurationFactor : MinInterval;

    private void EnsureWalker() => _walker ??= IdleThread.Start("root disk walker", Walk);

    private void Walk()
    {
        foreach (var (name, root) in _queue.GetConsumingEnumerable())
        {
            // The monitor's clock, not the machine's: what a walk took decides when the next is due.
            long started = time.GetTimestamp();
            ulong? bytes = null;
            try
            {
                bytes = measure(root, CancellationToken.None);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.ComponentModel.Win32Exception)
            {
                // Gone (stopped, destroyed) or moved about during the walk: the last figure stands until the next one.
            }
            var took = time.GetElapsedTime(started);
            TaskCompletionSource walked;
            lock (_lock)
            {
                if (!_entries.TryGetValue(name, out var entry))
                {
                    continue;
                }
                var now = time.GetUtcNow();
                (entry.Attempted, entry.Took, entry.Queued) = (now, took, false);
                if (bytes is not null)
                {
                    (entry.Bytes, entry.MeasuredAt) = (bytes, now);
                }
                (walked, entry.Walked) = (entry.Walked, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
            }
            walked.TrySetResult();
        }
    }
}
