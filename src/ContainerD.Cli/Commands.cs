using System.Text;
using ContainerD.Contract;

namespace ContainerD.Cli;

/// <summary>Printing what came from the daemon.</summary>
public static class Cli
{
    /// <summary>One line on stderr; on a terminal, what a container or a build printed is shown, not obeyed.</summary>
    public static void Say(string line) => Console.Error.WriteLine(Console.IsErrorRedirected ? line : TerminalText.Sanitize(line));
}

/// <summary>Each command: parse, call the daemon, print.</summary>
public static class Commands
{
    public static async Task<int> RunAsync(Target target, Arguments args)
    {
        switch (args.Command)
        {
            case "list": return await ListAsync(target, args);
            case "status": return await StatusAsync(target, args);
            case "create": return await CreateAsync(target, args);
            case "start": return await JobAsync(target, args, "started", (c, name) => c.StartContainerAsync(name));
            case "restart": return await JobAsync(target, args, "restarted", (c, name) => c.RestartContainerAsync(name));
            case "stop": return await StopAsync(target, args);
            case "destroy": return await DestroyAsync(target, args);
            case "update": return await UpdateAsync(target, args);
            case "rollback": return await RollbackAsync(target, args);
            case "generations": return await GenerationsAsync(target, args);
            case "snapshot": return await SnapshotCommands.SnapshotAsync(target, args);
            case "snapshots": return await SnapshotCommands.ListAsync(target, args);
            case "restore": return await SnapshotCommands.RestoreAsync(target, args);
            case "reset": return await SnapshotCommands.ResetAsync(target, args);
            case "copy": return await CopyCommands.CopyAsync(target, args);
            case "move": return await CopyCommands.MoveAsync(target, args);
            case "__move-guard": return await CopyCommands.GuardAsync(target, args);
            case "export": return await ArchiveCommands.ExportAsync(target, args);
            case "import": return await ArchiveCommands.ImportAsync(target, args);
            case "jobs": return await JobsAsync(target, args);
            case "cancel": return await CancelAsync(target, args);
            case "run": return await Inside.RunAsync(target, args);
            case "shell": return await Inside.ShellAsync(target, args);
            case "logs": return await Inside.LogsAsync(target, args);
            case "top": return await Top.RunAsync(target, args);
            case "events": return await Events.RunAsync(target, args);
            case "metrics": return await Metrics.RunAsync(target, args);
            default: throw new CliException(ExitCodes.InvalidInput, $"unknown command '{args.Command}'; see 'containerctl --help'");
        }
    }

    private static async Task<int> ListAsync(Target target, Arguments args)
    {
        bool json = args.Flag("--json");
        bool namesOnly = args.Flag("--names");
        args.End();
        using var client = await target.ConnectAsync();
        var rows = await client.ListContainersAsync();
        if (namesOnly)
        {
            Console.Out.Write(string.Concat(rows.Select(r => r.Name + "\n")));
            return ExitCodes.Ok;
        }
        // Sent together and answered in one go: one round trip's wait for all of them.
        var autostart = await Task.WhenAll(rows.Select(r => client.GetPropertyAsync(r.Path, Names.ContainerInterface, "Autostart")));
        var listed = rows.Select((r, i) => (r, autostart[i].GetBool())).ToList();
        Console.Out.Write(json ? Output.ContainersJson(listed) : Output.ContainersTable(listed));
        return ExitCodes.Ok;
    }

    private static async Task<int> StatusAsync(Target target, Arguments args)
    {
        string name = args.Positional("container name");
        args.End();
        using var client = await target.ConnectAsync();
        string path = await client.GetContainerAsync(name);
        var properties = await client.GetAllPropertiesAsync(path, Names.ContainerInterface);
        var usage = properties["State"].GetString() == "running" ? UsageFigures.From(await client.GetUsageAsync(path)) : null;
        string status = Output.Status(properties, usage);
        Console.Out.Write(Console.IsOutputRedirected ? status : TerminalText.Sanitize(status));
        return ExitCodes.Ok;
    }

    private static async Task<int> StopAsync(Target target, Arguments args)
    {
        bool force = args.Flag("--force");
        uint? timeout = null;
        if (args.Option("-t", "--timeout") is { } text)
        {
            timeout = uint.TryParse(text, out uint seconds) && seconds > 0 ? seconds : throw args.Usage($"'{text}' is not a number of seconds");
        }
        return timeout is { } t
            ? await JobAsync(target, args, "stopped", (c, name) => c.StopContainerAsync(name, force, t))
            : await JobAsync(target, args, "stopped", (c, name) => c.StopContainerAsync(name, force));
    }

    /// <summary>Destroy loses the container's files: ask on a terminal, and want --yes from scripts.</summary>
    private static async Task<int> DestroyAsync(Target target, Arguments args) =>
        Confirmed(args, "destroy removes the container and its files for good",
            "Destroy the container and all its files (its rootfs, profile and state)?", "Nothing destroyed.")
            ? await JobAsync(target, args, "destroyed", (c, name) => c.DestroyContainerAsync(name))
            : ExitCodes.Failed;

    /// <summary>For what loses files: --yes, or a y on a terminal; a script without --yes is told to add it (exit 2).</summary>
    internal static bool Confirmed(Arguments args, string loss, string question, string declined)
    {
        if (args.Flag("--yes") | args.Flag("-y"))
        {
            return true;
        }
        if (Console.IsInputRedirected)
        {
            throw args.Usage($"{loss}; add --yes to confirm");
        }
        Console.Error.Write($"{question} [y/N] ");
        if (Console.ReadLine()?.Trim() is "y" or "Y" or "yes")
        {
            return true;
        }
        Console.Error.WriteLine(declined);
        return false;
    }

    private static async Task<int> JobsAsync(Target target, Arguments args)
    {
        args.End();
        using var client = await target.ConnectAsync();
        Console.Out.Write(Output.JobsTable(await client.ListJobsAsync()));
        return ExitCodes.Ok;
    }

    private static async Task<int> CancelAsync(Target target, Arguments args)
    {
        string text = args.Positional("job id");
        args.End();
        uint id = uint.TryParse(text.AsSpan(text.StartsWith(Names.JobPathPrefix, StringComparison.Ordinal) ? Names.JobPathPrefix.Length : 0), out uint parsed)
            ? parsed : throw args.Usage($"'{text}' is not a job id; 'containerctl jobs' lists them");
        using var client = await target.ConnectAsync();
        await client.CancelJobAsync(id);
        Console.Out.WriteLine($"job {id}: cancel requested");
        return ExitCodes.Ok;
    }

    private static async Task<int> CreateAsync(Target target, Arguments args)
    {
        string name = args.Positional("container name");
        bool start = args.Flag("--start");
        bool noBlock = args.Flag("--no-block");
        bool autostart = args.Flag("--autostart");
        string? file = args.Option("-f", "--file");
        var system = SystemChoice.From(args);
        bool? buildHere = BuildOn(target, args);
        args.End();
        if ((file is null) == (system is null))
        {
            throw args.Usage("give exactly one of -f FILE, --nix FILE, --flake PATH#NAME or --system PATH");
        }
        if (file is not null && autostart)
        {
            throw args.Usage("with -f, put autostart and the Nix settings in the file");
        }
        if (file is not null && buildHere == true)
        {
            throw args.Usage("with -f the definition is sent as it is and its system built on the other host; give --nix, --flake or --system to build here and push");
        }

        using var client = await target.ConnectAsync();
        string yaml;
        if (system is null)
        {
            yaml = ReadFile(file!);
        }
        else
        {
            if (buildHere != false && target.Remote is { } remote)
            {
                system = await Push.BuildAndCopyAsync(remote, system, $"create {name}");
            }
            yaml = system.Definition(name, autostart);
        }
        int result = await RunJobAsync(client, noBlock, $"create {name}", "created", c => c.CreateContainerAsync(name, yaml));
        if (result != ExitCodes.Ok || !start || noBlock)
        {
            return result;
        }
        return await RunJobAsync(client, noBlock, $"start {name}", "started", c => c.StartContainerAsync(name));
    }

    /// <summary>
    /// --build-on local|remote (null when not given): with -H a --nix or --flake system is built here
    /// and its closure pushed (local, the default), or the definition goes as it is and the other host
    /// builds it (remote).
    /// </summary>
    private static bool? BuildOn(Target target, Arguments args)
    {
        string? buildOn = args.Option("--build-on");
        if (buildOn is not null && target.Remote is null)
        {
            throw args.Usage("--build-on goes with -H HOST: without it the daemon builds on its own machine, which is this one");
        }
        return buildOn switch
        {
            null => null,
            "local" => true,
            "remote" => false,
            _ => throw args.Usage($"--build-on takes local or remote, not '{buildOn}'"),
        };
    }

    private static async Task<int> UpdateAsync(Target target, Arguments args)
    {
        string name = args.Positional("container name");
        bool noBlock = args.Flag("--no-block");
        string? file = args.Option("-f", "--file");
        var system = SystemChoice.From(args);
        bool? buildHere = BuildOn(target, args);
        args.End();
        if (file is not null && system is not null)
        {
            throw args.Usage("give -f FILE (a whole definition) or --nix, --flake or --system (a new system for the current definition), not both");
        }
        string yaml = file is null ? "" : ReadFile(file);
        using var client = await target.ConnectAsync();
        if (system is not null)
        {
            // The current definition with its system replaced: network, limits, mounts stay.
            string path = await client.GetContainerAsync(name);
            string current = (await client.GetPropertyAsync(path, Names.ContainerInterface, "Definition")).GetString();
            if (buildHere != false && target.Remote is { } remote)
            {
                system = await Push.BuildAndCopyAsync(remote, system, $"update {name}");
            }
            yaml = system.ReplaceSystemOf(current);
        }
        return await RunJobAsync(client, noBlock, $"update {name}", "updated", c => c.UpdateContainerAsync(name, yaml));
    }

    private static async Task<int> RollbackAsync(Target target, Arguments args)
    {
        string name = args.Positional("container name");
        bool noBlock = args.Flag("--no-block");
        uint generation = 0;
        if (args.TryPositional() is { } text && !uint.TryParse(text, out generation))
        {
            throw args.Usage($"'{text}' is not a generation number");
        }
        args.End();
        using var client = await target.ConnectAsync();
        return await RunJobAsync(client, noBlock, $"rollback {name}", "rolled back", c => c.RollbackContainerAsync(name, generation));
    }

    private static async Task<int> GenerationsAsync(Target target, Arguments args)
    {
        string name = args.Positional("container name");
        string? delete = args.Option("--delete");
        args.End();
        using var client = await target.ConnectAsync();
        if (delete is not null)
        {
            int result = await RunJobAsync(client, false, $"delete generations of {name}", "cleaned up", c => c.DeleteGenerationsAsync(name, delete));
            if (result != ExitCodes.Ok)
            {
                return result;
            }
        }
        Console.Out.Write(Output.GenerationsTable(await client.ListGenerationsAsync(name)));
        return ExitCodes.Ok;
    }

    /// <summary>
    /// A definition file as text: refused here (exit 2) when it cannot be one — bigger than the
    /// daemon takes, or not UTF-8 text (a NUL byte cannot even travel in a D-Bus string).
    /// </summary>
    private static string ReadFile(string file)
    {
        try
        {
            using var stream = File.OpenRead(file);
            if (stream.CanSeek && stream.Length > BusText.MaxDefinitionBytes)
            {
                throw new CliException(ExitCodes.InvalidInput,
                    $"{file} is {stream.Length} bytes long; a definition may be at most {BusText.MaxDefinitionBytes} bytes (1 MiB)");
            }
            var buffer = new byte[BusText.MaxDefinitionBytes + 1];
            int length = 0, read;
            while (length < buffer.Length && (read = stream.Read(buffer, length, buffer.Length - length)) > 0)
            {
                length += read;
            }
            if (length > BusText.MaxDefinitionBytes)
            {
                throw new CliException(ExitCodes.InvalidInput, $"{file} is longer than {BusText.MaxDefinitionBytes} bytes (1 MiB), the most a definition may be");
            }
            var bytes = buffer.AsSpan(0, length);
            if (bytes.IndexOf((byte)0) is var nul and >= 0)
            {
                throw new CliException(ExitCodes.InvalidInput, $"{file} is not a text file: it holds a NUL byte at offset {nul}");
            }
            try
            {
                return new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(bytes);
            }
            catch (DecoderFallbackException e)
            {
                throw new CliException(ExitCodes.InvalidInput, $"{file} is not UTF-8 text (at offset {e.Index}): save it as UTF-8");
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException(ExitCodes.InvalidInput, $"cannot read {file}: {e.Message}");
        }
    }

    internal static async Task<int> JobAsync(Target target, Arguments args, string pastTense, Func<ContainerDClient, string, Task<string>> start)
    {
        string name = args.Positional("container name");
        bool noBlock = args.Flag("--no-block");
        args.End();
        using var client = await target.ConnectAsync();
        return await RunJobAsync(client, noBlock, $"{args.Command} {name}", pastTense, c => start(c, name));
    }

    /// <summary>For a job that freezes a running container (snapshot, export): a daemon killed meanwhile leaves it frozen.</summary>
    internal static string StaysFrozen(string name) => $"And if {name} was running, it stays frozen until containerctld starts again, which thaws it.";

    /// <summary>Starts a job and, unless --no-block, streams its log and waits for its end.</summary>
    /// <param name="toStderr">Everything containerctl prints goes to stderr: stdout carries data (export -).</param>
    /// <param name="ifGone">What else the line says when the daemon goes away while the job runs.</param>
    internal static async Task<int> RunJobAsync(ContainerDClient client, bool noBlock, string what, string pastTense, Func<ContainerDClient, Task<string>> start,
        bool toStderr = false, string? ifGone = null)
    {
        var output = toStderr ? Console.Error : Console.Out;
        if (noBlock)
        {
            output.WriteLine(await start(client));
            return ExitCodes.Ok;
        }
        uint? jobId = null;
        // Log lines can arrive before the reply that names the job: hold them until then.
        var early = new List<(uint Id, string Line)>();
        using var progress = new JobProgress(what, live: toStderr ? !Console.IsErrorRedirected : !Console.IsOutputRedirected, output);
        await client.WatchJobsAsync((id, line) =>
        {
            lock (early)
            {
                if (jobId is null)
                {
                    early.Add((id, line));
                    return;
                }
            }
            if (id == jobId)
            {
                progress.Line(line);
            }
        });
        // Subscribed before the job starts: a daemon that dies while it runs ends the wait (exit 5).
        Task gone = await client.WatchDaemonAsync();
        string jobPath = await start(client).OrGoneAsync(gone, $"{what} was being started", job: true);
        lock (early)
        {
            jobId = ContainerDClient.JobId(jobPath);
            early.Where(e => e.Id == jobId).ToList().ForEach(e => progress.Line(e.Line));
        }
        JobEnd end;
        try
        {
            end = await client.WaitForJobAsync(jobPath).OrGoneAsync(gone, $"job {jobId} ({what}) ran", job: true);
        }
        catch (CliException e) when (ifGone is not null && e.ExitCode == ExitCodes.Unreachable)
        {
            throw new CliException(e.ExitCode, $"{e.Message} {ifGone}");
        }
        progress.Dispose();
        if (end.Succeeded)
        {
            output.WriteLine($"{end.Container}: {pastTense} (job {end.Id})");
            return ExitCodes.Ok;
        }
        Cli.Say($"containerctl: {end.Operation} {end.Container} {end.Result}: {end.Message}");
        // The error's name says which failure it was: the same exit code as the method error would give.
        return end.ErrorName.Length > 0 && ExitCodes.ForError(end.ErrorName) != ExitCodes.Ok ? ExitCodes.ForError(end.ErrorName) : ExitCodes.Failed;
    }
}
