using System.Globalization;
using ContainerD.Contract;

namespace ContainerD.Cli;

/// <summary>
/// One thing that happened, as `containerctl events` prints it: created, removed, state,
/// generation, job-started, job-ended. Previous is the state or generation before, when known.
/// </summary>
public sealed record ContainerEvent(DateTimeOffset Time, string Type, string Container, string? Value = null, string? Previous = null,
    uint? Job = null, string? Operation = null, string? Result = null, string? Error = null);

/// <summary>The pure part of `events`: what a signal means, given what was known before, and how it reads.</summary>
public static class EventText
{
    /// <summary>A container's state and generation as last seen, by name; the paths to names.</summary>
    public sealed class Known
    {
        public Dictionary<string, (string? State, uint? Generation)> Containers { get; } = new(StringComparer.Ordinal);
        public Dictionary<string, string> Names { get; } = new(StringComparer.Ordinal);

        public void Add(string name, string path, string? state, uint? generation)
        {
            Containers[name] = (state, generation);
            Names[path] = name;
        }
    }

    /// <summary>The events a signal makes (none for what events does not show), updating known.</summary>
    public static List<ContainerEvent> From(DaemonSignal signal, DateTimeOffset time, Known known)
    {
        var events = new List<ContainerEvent>();
        switch (signal)
        {
            case ContainerAppeared a:
                known.Add(a.Name, a.Path, null, null);
                events.Add(new ContainerEvent(time, "created", a.Name));
                break;
            case ContainerVanished v:
                known.Containers.Remove(v.Name);
                known.Names.Remove(v.Path);
                events.Add(new ContainerEvent(time, "removed", v.Name));
                break;
            case ContainerChanged c when known.Names.TryGetValue(c.Path, out var name):
                var (state, generation) = known.Containers.GetValueOrDefault(name);
                if (c.Changed.TryGetValue("State", out var s) && s.GetString() is var newState && newState != state)
                {
                    events.Add(new ContainerEvent(time, "state", name, newState, state));
                    state = newState;
                }
                if (c.Changed.TryGetValue("Generation", out var g) && g.GetUInt32() is var newGeneration && newGeneration != generation)
                {
                    events.Add(new ContainerEvent(time, "generation", name, Num(newGeneration), generation is { } old ? Num(old) : null));
                    generation = newGeneration;
                }
                known.Containers[name] = (state, generation);
                break;
            case JobStarted j:
                events.Add(new ContainerEvent(time, "job-started", j.Container, Job: j.Id, Operation: j.Operation));
                break;
            case JobEnded { End: var e }:
                events.Add(new ContainerEvent(time, "job-ended", e.Container, Job: e.Id, Operation: e.Operation, Result: e.Result,
                    Error: e.ErrorName.Length > 0 ? e.ErrorName : null));
                break;
        }
        return events;
    }

    /// <summary>One line: "2026-12-01T11:04:36.123Z state web running (was stopped)".</summary>
    public static string Line(ContainerEvent e)
    {
        string what = e.Type switch
        {
            "state" or "generation" => e.Value + (e.Previous is { } p ? $" (was {p})" : ""),
            "job-started" => $"{e.Operation} (job {e.Job})",
            "job-ended" => $"{e.Operation} {e.Result}{(e.Error is { } error ? ": " + ShortError(error) : "")} (job {e.Job})",
            _ => "",
        };
        return $"{Timestamp(e.Time)} {e.Type} {e.Container}{(what.Length > 0 ? " " + what : "")}";
    }

    /// <summary>One JSON object on one line (JSON Lines), the fields that apply.</summary>
    public static string Json(ContainerEvent e) => Output.Json(indented: false, json =>
    {
        json.WriteStartObject();
        json.WriteString("time", Timestamp(e.Time));
        json.WriteString("type", e.Type);
        json.WriteString("container", e.Container);
        void Field(string name, string? value)
        {
            if (value is not null)
            {
                json.WriteString(name, value);
            }
        }
        if (e.Type == "generation")
        {
            json.WriteNumber("generation", uint.Parse(e.Value!, CultureInfo.InvariantCulture));
            if (e.Previous is { } previous)
            {
                json.WriteNumber("previous", uint.Parse(previous, CultureInfo.InvariantCulture));
            }
        }
        else
        {
            Field(e.Type == "state" ? "state" : "value", e.Value);
            Field("previous", e.Previous);
        }
        if (e.Job is { } job)
        {
            json.WriteNumber("job", job);
        }
        Field("operation", e.Operation);
        Field("result", e.Result);
        Field("error", e.Error);
        json.WriteEndObject();
    });

    /// <summary>UTC to the millisecond, ISO 8601, as `incus monitor` stamps its events.</summary>
    public static string Timestamp(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    /// <summary>Our own error names without their prefix (StartFailed); others as they are.</summary>
    private static string ShortError(string name) => name.StartsWith(Contract.Names.ErrorPrefix, StringComparison.Ordinal) ? name[Contract.Names.ErrorPrefix.Length..] : name;

    private static string Num(uint n) => n.ToString(CultureInfo.InvariantCulture);
}

/// <summary>
/// `containerctl events [NAME…] [--json]`: follows what happens, a line each, until the daemon goes
/// away (then it says so and exits 5, as every wait on the daemon does).
/// </summary>
public static class Events
{
    public static async Task<int> RunAsync(Target target, Arguments args)
    {
        bool json = args.Flag("--json");
        var names = new List<string>();
        while (args.TryPositional() is { } name)
        {
            names.Add(name);
        }
        args.End();

        using var client = await target.ConnectAsync();
        Task gone = await client.WatchDaemonAsync();
        // Subscribed before anything is read: what happens from here on is in the queue, in order.
        var queue = System.Threading.Channels.Channel.CreateUnbounded<(DaemonSignal Signal, DateTimeOffset Time)>();
        using var watch = await client.WatchSignalsAsync(signal => queue.Writer.TryWrite((signal, DateTimeOffset.UtcNow)));
        // A name that is not a container is an error now, not a silence forever (InvalidName, NoSuchContainer).
        foreach (string name in names)
        {
            await client.GetContainerAsync(name).OrGoneAsync(gone, "events was starting");
        }
        var known = new EventText.Known();
        foreach (var c in await client.ListContainersAsync().OrGoneAsync(gone, "events was starting"))
        {
            known.Add(c.Name, c.Path, c.State, c.Generation);
        }
        var wanted = names.ToHashSet(StringComparer.Ordinal);
        bool terminal = !Console.IsOutputRedirected;
        using var stdout = new StreamWriter(StandardOutput.Open(), new System.Text.UTF8Encoding(false)) { AutoFlush = true };
        while (true)
        {
            var next = queue.Reader.ReadAsync().AsTask();
            if (await Task.WhenAny(next, gone) != next)
            {
                throw DaemonWatch.Gone("events were being followed");
            }
            var (signal, time) = await next;
            foreach (var e in EventText.From(signal, time, known).Where(e => wanted.Count == 0 || wanted.Contains(e.Container)))
            {
                string line = json ? EventText.Json(e) : EventText.Line(e);
                try
                {
                    stdout.WriteLine(terminal ? TerminalText.Sanitize(line) : line);
                }
                catch (IOException)
                {
                    return ExitCodes.Ok; // the reader went away (`events | head -3`): done, as a SIGPIPE would end a C tool
                }
            }
        }
    }
}
