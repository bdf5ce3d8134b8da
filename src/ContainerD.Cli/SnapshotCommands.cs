using System.Globalization;
using System.Text.Json;
using ContainerD.Contract;

namespace ContainerD.Cli;

/// <summary>snapshot, snapshots, restore, reset: a container's writable root kept, brought back, emptied.</summary>
public static class SnapshotCommands
{
    /// <summary>snapshot NAME [SNAP] takes one; snapshot NAME --delete SNAP removes one.</summary>
    public static async Task<int> SnapshotAsync(Target target, Arguments args)
    {
        string name = args.Positional("container name");
        string? delete = args.Option("--delete");
        bool noBlock = args.Flag("--no-block");
        string snapshot = args.TryPositional() ?? "";
        args.End();
        if (delete is not null && snapshot.Length > 0)
        {
            throw args.Usage("give either a snapshot to take or --delete SNAPSHOT, not both");
        }
        using var client = await target.ConnectAsync();
        return delete is not null
            ? await Commands.RunJobAsync(client, noBlock, $"delete snapshot {delete} of {name}", "deleted", c => c.DeleteSnapshotAsync(name, delete))
            : await Commands.RunJobAsync(client, noBlock, $"snapshot {name}", "snapshotted", c => c.SnapshotContainerAsync(name, snapshot),
                ifGone: Commands.StaysFrozen(name));
    }

    public static async Task<int> ListAsync(Target target, Arguments args)
    {
        string name = args.Positional("container name");
        bool json = args.Flag("--json");
        args.End();
        using var client = await target.ConnectAsync();
        var rows = await client.ListSnapshotsAsync(name);
        Console.Out.Write(json ? Json(rows) : Table(rows));
        return ExitCodes.Ok;
    }

    public static async Task<int> RestoreAsync(Target target, Arguments args)
    {
        string name = args.Positional("container name");
        string snapshot = args.Positional("snapshot name");
        bool noBlock = args.Flag("--no-block");
        if (!Commands.Confirmed(args, $"restore replaces the root of {name} with snapshot {snapshot}'s: what it holds now is lost",
            $"Replace the root of {name} with snapshot {snapshot}'s (a running container is restarted)?", "Nothing restored."))
        {
            return ExitCodes.Failed;
        }
        args.End();
        using var client = await target.ConnectAsync();
        return await Commands.RunJobAsync(client, noBlock, $"restore {name} from {snapshot}", "restored", c => c.RestoreSnapshotAsync(name, snapshot));
    }

    public static async Task<int> ResetAsync(Target target, Arguments args) =>
        Commands.Confirmed(args, "reset empties the container's writable root: its files are lost (its system, generations and snapshots stay)",
            "Empty the container's writable root (a running container is restarted)?", "Nothing reset.")
            ? await Commands.JobAsync(target, args, "reset", (c, name) => c.ResetContainerAsync(name))
            : ExitCodes.Failed;

    public static string Table(IReadOnlyList<SnapshotRow> rows) =>
        rows.Count == 0 ? "" : Output.Align([["SNAPSHOT", "CREATED", "GENERATION", "SYSTEM"],
            .. rows.Select(r => new[] { r.Name, Time(r.CreatedMicros), r.Generation.ToString(CultureInfo.InvariantCulture), r.SystemPath })]);

    private static string Json(IReadOnlyList<SnapshotRow> rows)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartArray();
            foreach (var r in rows)
            {
                json.WriteStartObject();
                json.WriteString("name", r.Name);
                json.WriteString("created", DateTimeOffset.FromUnixTimeMilliseconds((long)(r.CreatedMicros / 1000)).ToString("O", CultureInfo.InvariantCulture));
                json.WriteNumber("generation", r.Generation);
                json.WriteString("system", r.SystemPath);
                json.WriteEndObject();
            }
            json.WriteEndArray();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }

    private static string Time(ulong micros) =>
        DateTimeOffset.FromUnixTimeMilliseconds((long)(micros / 1000)).ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
}
