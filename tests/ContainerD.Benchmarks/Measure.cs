using System.Diagnostics;
using System.Globalization;

namespace ContainerD.Benchmarks;

/// <summary>Repeated timings of one operation: min, median and max in milliseconds.</summary>
public sealed record Timing(IReadOnlyList<double> Milliseconds)
{
    public double Min => Milliseconds.Min();
    public double Max => Milliseconds.Max();
    public double Median
    {
        get
        {
            var sorted = Milliseconds.Order().ToArray();
            return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
        }
    }

    public override string ToString() => string.Format(CultureInfo.InvariantCulture, "{0:0.0} / {1:0.0} / {2:0.0}", Min, Median, Max);

    /// <summary>Times `run` `repetitions` times; `before` and `after` run untimed around each (setup, reset).</summary>
    public static async Task<Timing> OfAsync(int repetitions, Func<Task> run, Func<Task>? before = null, Func<Task>? after = null)
    {
        var times = new List<double>();
        for (int i = 0; i < repetitions; i++)
        {
            if (before is not null)
            {
                await before();
            }
            long start = Stopwatch.GetTimestamp();
            await run();
            times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            if (after is not null)
            {
                await after();
            }
        }
        return new Timing(times);
    }
}

/// <summary>One of the operations InTurnsAsync times: before and after run untimed around each repetition.</summary>
public sealed record Turn(Func<Task> Run, Func<Task>? Before = null, Func<Task>? After = null);

public static class Turns
{
    /// <summary>
    /// Times the operations in turns — A, B, C, A, B, C … — so that each meets the same moments of a
    /// shared machine: timed one block after the other, a build starting beside the run lands on one
    /// side only and skews the ratio. One Timing per operation, in the order given.
    /// </summary>
    public static async Task<Timing[]> InTurnsAsync(int repetitions, params Turn[] turns)
    {
        var times = turns.Select(_ => new List<double>()).ToArray();
        for (int i = 0; i < repetitions; i++)
        {
            for (int t = 0; t < turns.Length; t++)
            {
                var timed = await Timing.OfAsync(1, turns[t].Run, turns[t].Before, turns[t].After);
                times[t].Add(timed.Milliseconds[0]);
            }
        }
        return times.Select(t => new Timing(t)).ToArray();
    }
}

/// <summary>What ContainerD is compared with: raw LXC, LXD.</summary>
public sealed record Reference(string Name, Timing Time);

/// <summary>
/// One line of the report: ContainerD's timing, its counterparts, and the target it must meet
/// (judged on the ratio of medians to the first reference, or on the absolute median).
/// </summary>
public sealed record Row(string What, Timing Ours, IReadOnlyList<Reference> References, Target? Target = null)
{
    public double? RatioTo(Reference reference) => Ours.Median / reference.Time.Median;

    public bool? Met => Target switch
    {
        null => null,
        { MaxRatio: { } max } => References.Count > 0 ? RatioTo(References[0]) <= max : null,
        { MaxMilliseconds: { } ms } => Ours.Median <= ms,
        _ => null,
    };
}

/// <summary>A target from the issue: at most MaxRatio × the first reference, or at most MaxMilliseconds.</summary>
public sealed record Target(string Text, double? MaxRatio = null, double? MaxMilliseconds = null)
{
    public static Target Ratio(double max) => new(string.Create(CultureInfo.InvariantCulture, $"≤ {max:0.00}×"), MaxRatio: max);
    public static Target Milliseconds(double max) => new(string.Create(CultureInfo.InvariantCulture, $"≤ {max:0} ms"), MaxMilliseconds: max);
}
