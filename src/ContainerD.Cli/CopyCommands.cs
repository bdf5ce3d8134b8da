using System.IO.Pipes;
using System.Runtime.InteropServices;
using ContainerD.Contract;

namespace ContainerD.Cli;

/// <summary>
/// copy and move to another host: the closure goes first as the paths the host lacks
/// (nix-copy-closure), then the container's export streams, without its closure and without a
/// temporary file, into `containerctl import -` run there through ssh. move stops the container
/// first and destroys it here only once it runs there; a move that fails, or is interrupted
/// (Ctrl-C, SIGTERM, SIGHUP), removes what it made there and starts the container here again. A
/// move killed outright (kill -9) cannot do that itself: its guard, a second containerctl that
/// reads how far the move got from a pipe, does it once the pipe ends without "done" (MoveGuard).
/// </summary>
public static class CopyCommands
{
    public static Task<int> CopyAsync(Target target, Arguments args) => TransferAsync(target, args, move: false);

    public static Task<int> MoveAsync(Target target, Arguments args) => TransferAsync(target, args, move: true);

    private static async Task<int> TransferAsync(Target source, Arguments args, bool move)
    {
        string verb = move ? "move" : "copy";
        string name = args.Positional("container name");
        string to = args.Option("--to") ?? throw args.Usage("--to [USER@]HOST[:PORT] names the host to " + verb + " it to");
        string newName = args.Option("--name") ?? name;
        string toBus = args.Option("--to-bus") ?? "system";
        // A move leaves nothing here: every generation goes with it (copy sends the current one unless asked).
        bool all = args.Flag("--all-generations") || move;
        bool discardSnapshots = move && args.Flag("--discard-snapshots");
        args.End();
        if (source.Remote is not null)
        {
            throw new CliException(ExitCodes.InvalidInput,
                $"{verb} runs on the host the container is on (its closure is sent from that host's store): run it there, e.g. '{source.Remote.Host.SshCommandLine} containerctl {verb} {name} --to {to}'");
        }
        Target destination;
        try
        {
            destination = new Target(toBus, new SshRoute(RemoteHost.Parse(to), source.SshConfig));
        }
        catch (FormatException e)
        {
            throw new CliException(ExitCodes.InvalidInput, $"{verb}: --to: {e.Message}");
        }
        var remote = destination.Remote!;

        using var interrupted = new CancellationTokenSource();
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Interrupt);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Interrupt);
        using var sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, Interrupt);
        void Interrupt(PosixSignalContext context)
        {
            // Not the default exit: the move is undone first.
            context.Cancel = true;
            interrupted.Cancel();
            Cli.Say($"containerctl: {context.Signal} received: stopping the {verb}");
        }

        using var client = await source.ConnectAsync();
        string path = await client.GetContainerAsync(name);
        // Refused before anything travels or stops.
        if (move && !discardSnapshots && await client.ListSnapshotsAsync(name) is { Length: > 0 } snapshots)
        {
            throw new CliException(ExitCodes.InvalidInput,
                $"move: {name} has snapshots ({string.Join(", ", snapshots.Select(s => s.Name))}), which do not travel and would go when it is destroyed here; nothing was sent. " +
                "Pass --discard-snapshots to move it without them, or copy it instead");
        }
        await RequireFreeThereAsync(destination, newName, verb);
        var properties = await client.GetAllPropertiesAsync(path, Names.ContainerInterface);
        bool wasRunning = properties["State"].GetString() == "running";
        var systems = all ? (await client.ListGenerationsAsync(name)).Select(g => g.StorePath).ToList() : [properties["SystemPath"].GetString()];
        using (var progress = new JobProgress($"{verb} {name} to {remote.Host}", live: !Console.IsOutputRedirected, Console.Out))
        {
            foreach (string system in systems)
            {
                await Push.CopyAsync(remote, system, $"{verb} {name}", progress);
            }
        }
        bool stopped = false, imported = false;
        using var guard = move ? MoveGuard.Start(source, name, newName, to, toBus) : null;
        try
        {
            interrupted.Token.ThrowIfCancellationRequested();
            if (move && wasRunning)
            {
                // Before the stop is asked for: killed while it waits, the guard starts it again once it is done.
                guard?.Reached(MoveGuard.Stopping);
                int stop = await Commands.RunJobAsync(client, false, $"stop {name}", "stopped", c => c.StopContainerAsync(name, false));
                if (stop != ExitCodes.Ok)
                {
                    return stop;
                }
                stopped = true;
            }
            interrupted.Token.ThrowIfCancellationRequested();
            Console.Out.WriteLine($"{verb}: sending {name} to {remote.Host} as {newName}");
            int sent = await SendAsync(client, destination, name, newName, all, interrupted.Token);
            if (sent != ExitCodes.Ok)
            {
                // A conflict there is a container of that name made meanwhile: not ours to remove.
                imported = sent != ExitCodes.Conflict && await ExistsThereAsync(destination, newName);
                return sent;
            }
            imported = true;
            guard?.Reached(MoveGuard.Imported);
            if (!move)
            {
                Console.Out.WriteLine($"{name}: copied to {remote.Host} as {newName}");
                return ExitCodes.Ok;
            }
            interrupted.Token.ThrowIfCancellationRequested();
            if (wasRunning)
            {
                int started = await RemoteCli.RunAsync(destination, terminal: false, ["start", newName]);
                if (started != ExitCodes.Ok)
                {
                    return started;
                }
            }
            interrupted.Token.ThrowIfCancellationRequested();
            // The point of no return: it runs there (or is there, stopped as it was); only now does it go here.
            imported = false;
            stopped = false;
            guard?.Reached(MoveGuard.RunsThere);
            int destroyed = await Commands.RunJobAsync(client, false, $"destroy {name}", "destroyed", c => c.DestroyContainerAsync(name));
            if (destroyed == ExitCodes.Ok)
            {
                Console.Out.WriteLine($"{name}: moved to {remote.Host} as {newName}");
            }
            return destroyed;
        }
        catch (OperationCanceledException) when (interrupted.IsCancellationRequested)
        {
            Cli.Say($"containerctl: {verb} of {name} interrupted");
            imported = imported || await ExistsThereAsync(destination, newName);
            return ExitCodes.Failed;
        }
        finally
        {
            await MoveGuard.UndoAsync(client, destination, name, newName, removeThere: imported && move, startHere: stopped);
            // What was left to do is done (or this process is being killed, and the guard does it).
            guard?.Reached(MoveGuard.Done);
        }
    }

    /// <summary>containerctl __move-guard NAME NEW TO TOBUS: MoveGuard's other end.</summary>
    public static Task<int> GuardAsync(Target source, Arguments args)
    {
        string name = args.Positional("container name"), newName = args.Positional("new name"), to = args.Positional("host"), toBus = args.Positional("bus");
        args.End();
        return MoveGuard.RunAsync(source, new Target(toBus, new SshRoute(RemoteHost.Parse(to), source.SshConfig), source.SshConfig), name, newName);
    }

    /// <summary>The export here (without its closure) streamed into `containerctl import -` there; both must end well.</summary>
    private static async Task<int> SendAsync(ContainerDClient client, Target destination, string name, string newName, bool all, CancellationToken interrupted)
    {
        using var pipe = new AnonymousPipeServerStream(PipeDirection.In, HandleInheritability.None);
        await client.WatchJobsAsync();
        Task gone = await client.WatchDaemonAsync();
        // The message takes the pipe's write end and closes it once sent: the daemon holds the only one.
        string job = await client.ExportContainerAsync(name, pipe.ClientSafePipeHandle, allGenerations: all, closure: false);
        pipe.DisposeLocalCopyOfClientHandle();
        var import = RemoteCli.RunAsync(destination, terminal: false, ["import", "-", "--name", newName], input: pipe, cancellationToken: interrupted);
        var exported = client.WaitForJobAsync(job).OrGoneAsync(gone, $"job {ContainerDClient.JobId(job)} (export {name}) ran", job: true);
        int imported = await import;
        var end = await exported;
        interrupted.ThrowIfCancellationRequested();
        if (!end.Succeeded)
        {
            Cli.Say($"containerctl: export {name} {end.Result}: {end.Message}");
            return ExitCodes.Failed;
        }
        return imported;
    }

    /// <summary>
    /// The name is free there and valid by that daemon's rules (its InvalidName: exit 2); what the
    /// undo removes there is then the copy's own.
    /// </summary>
    private static async Task RequireFreeThereAsync(Target destination, string newName, string verb)
    {
        using var there = await destination.ConnectAsync();
        try
        {
            await there.GetContainerAsync(newName);
        }
        catch (Tmds.DBus.Protocol.DBusErrorReplyException e) when (e.ErrorName == Errors.NameOf("NoSuchContainer"))
        {
            return;
        }
        throw new CliException(ExitCodes.Conflict,
            $"{verb}: {destination.Remote!.Host} has a container '{newName}' already; nothing was sent. Give the copy another name with --name NEW");
    }

    private static async Task<bool> ExistsThereAsync(Target destination, string name)
    {
        try
        {
            using var there = await destination.ConnectAsync();
            return (await there.ListContainersAsync()).Any(c => c.Name == name);
        }
        catch (Exception e) when (e is RemoteUnreachableException or Tmds.DBus.Protocol.DBusErrorReplyException or Tmds.DBus.Protocol.DBusConnectionClosedException or CliException)
        {
            return false;
        }
    }
}
