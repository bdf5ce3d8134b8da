using System.Diagnostics;
using System.Runtime.InteropServices;

namespace ContainerD.Cli;

/// <summary>
/// What finishes or undoes a move whose containerctl was killed outright (kill -9), which its own
/// finally cannot: a second containerctl, started before the move stops anything, reads from a pipe
/// how far the move got, one step a line; the move writes "done" once it has finished or undone
/// everything itself. A pipe that ends without it means the move died, and the guard does what the
/// move's finally would have: the copy there removed, the container here started again — or, once
/// the copy runs there, the move finished by destroying it here. The transfer itself needs no undo:
/// the move's death closes the stream its ssh reads, and the import there refuses a truncated archive.
/// </summary>
public sealed class MoveGuard : IDisposable
{
    public const string Stopping = "stopping", Imported = "imported", RunsThere = "runs-there", Done = "done";

    private readonly Process _process;

    private MoveGuard(Process process) => _process = process;

    public static MoveGuard Start(Target source, string name, string newName, string to, string toBus)
    {
        string self = Environment.ProcessPath ?? throw new CliException(ExitCodes.Failed, "move: cannot find containerctl's own binary to guard the move");
        var startInfo = new ProcessStartInfo(self) { UseShellExecute = false, RedirectStandardInput = true };
        // Run as `dotnet containerctl.dll` (a debug build): the guard the same way.
        IEnumerable<string> argv = Path.GetFileName(self) == "dotnet" ? [Path.Combine(AppContext.BaseDirectory, "containerctl.dll")] : [];
        argv = argv.Concat(["--bus", source.Bus]).Concat(source.SshConfig is { } config ? ["--ssh-config", config] : []).Concat(["__move-guard", name, newName, to, toBus]);
        foreach (string arg in argv)
        {
            startInfo.ArgumentList.Add(arg);
        }
        return new MoveGuard(Process.Start(startInfo) ?? throw new CliException(ExitCodes.Failed, "move: cannot start its guard"));
    }

    /// <summary>Tells the guard a step is behind the move.</summary>
    public void Reached(string step)
    {
        try
        {
            _process.StandardInput.WriteLine(step);
            _process.StandardInput.Flush();
        }
        catch (IOException)
        {
            // The guard is gone: the move goes on without one, as it would have before guards.
        }
    }

    public void Dispose()
    {
        try
        {
            _process.StandardInput.Close();
        }
        catch (IOException)
        {
            // Gone already.
        }
        _process.Dispose();
    }

    /// <summary>The guard's side: waits for the pipe's end, then finishes or undoes what the move left.</summary>
    public static async Task<int> RunAsync(Target here, Target there, string name, string newName)
    {
        // Ctrl-C and a hang-up reach the move's whole process group: the move answers them itself.
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => c.Cancel = true);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => c.Cancel = true);
        using var sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, c => c.Cancel = true);
        var steps = new HashSet<string>(StringComparer.Ordinal);
        while (await Console.In.ReadLineAsync() is { } line)
        {
            steps.Add(line);
        }
        if (steps.Contains(Done) || steps.Count == 0)
        {
            return ExitCodes.Ok;
        }
        using var client = await here.ConnectAsync();
        if (steps.Contains(RunsThere))
        {
            Say($"containerctl: the move of {name} was killed after it ran on {there.Remote!.Host}: destroying it here, as the move would have");
            await WhenIdleAsync(client, name);
            return await Commands.RunJobAsync(client, false, $"destroy {name}", "destroyed", c => c.DestroyContainerAsync(name));
        }
        Say($"containerctl: the move of {name} was killed before it ran on {there.Remote!.Host}: undoing it");
        return await UndoAsync(client, there, name, newName, removeThere: steps.Contains(Imported), startHere: steps.Contains(Stopping));
    }

    /// <summary>
    /// What a move that did not get to run there leaves, undone — by the move's own finally or by
    /// its guard: the copy there removed (one the move made), the container here started again (one
    /// the move stopped) once no job holds it: a stop or an export the move waited for goes on
    /// in the daemon when the move dies.
    /// </summary>
    public static async Task<int> UndoAsync(Contract.ContainerDClient here, Target there, string name, string newName, bool removeThere, bool startHere)
    {
        int result = ExitCodes.Ok;
        if (removeThere)
        {
            Say($"containerctl: removing {newName} from {there.Remote!.Host} again: the move did not finish");
            result = await RemoteCli.RunAsync(there, terminal: false, ["destroy", newName, "--yes"]);
        }
        if (startHere)
        {
            Say($"containerctl: starting {name} here again");
            await WhenIdleAsync(here, name);
            result = await Commands.RunJobAsync(here, false, $"start {name}", "started", c => c.StartContainerAsync(name));
        }
        return result;
    }

    private static async Task WhenIdleAsync(Contract.ContainerDClient client, string name)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromHours(1);
        while ((await client.ListJobsAsync()).Any(j => j.Container == name) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(200));
        }
    }

    /// <summary>A line on stderr, which may be a terminal that closed with the move.</summary>
    private static void Say(string line)
    {
        try
        {
            Cli.Say(line);
        }
        catch (IOException)
        {
            // Nobody to tell.
        }
    }
}
