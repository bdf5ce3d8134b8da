using ContainerD.Cli;
using ContainerD.Contract;
using Tmds.DBus.Protocol;

// containerctl [--bus system|session|ADDRESS] COMMAND …
string bus = Environment.GetEnvironmentVariable("CONTAINERCTL_BUS") is { Length: > 0 } fromEnv ? fromEnv : "system";
var words = args.ToList();
while (words.Count > 0 && words[0].StartsWith('-'))
{
    if (words[0] == "--bus" && words.Count > 1)
    {
        bus = words[1];
        words.RemoveRange(0, 2);
    }
    else if (words[0] is "--help" or "-h")
    {
        Console.Out.Write(Help.Overview);
        return ExitCodes.Ok;
    }
    else
    {
        Console.Error.WriteLine($"containerctl: unknown option '{words[0]}'; see 'containerctl --help'");
        return ExitCodes.InvalidInput;
    }
}
if (words.Count == 0)
{
    Console.Error.Write(Help.Overview);
    return ExitCodes.InvalidInput;
}

string command = words[0];
var arguments = new Arguments(command, words.Skip(1).ToList());
// --help after "--" belongs to the command that `run` runs, not to containerctl.
if (words.Skip(1).TakeWhile(w => w != "--").Any(w => w is "--help" or "-h"))
{
    Console.Out.Write(Help.For(command));
    return Help.Knows(command) ? ExitCodes.Ok : ExitCodes.InvalidInput;
}

try
{
    return await Commands.RunAsync(bus, arguments);
}
catch (CliException e)
{
    Cli.Say($"containerctl: {e.Message}");
    return e.ExitCode;
}
catch (DBusConnectFailedException)
{
    Console.Error.WriteLine($"containerctl: cannot reach containerctld on {BusAddress.Describe(bus)} — is containerctld.service running? (start it with 'systemctl start containerctld')");
    return ExitCodes.Unreachable;
}
catch (DBusErrorReplyException e) when (ExitCodes.ForError(e.ErrorName) == ExitCodes.Unreachable)
{
    Console.Error.WriteLine($"containerctl: cannot reach containerctld on {BusAddress.Describe(bus)} — is containerctld.service running? (start it with 'systemctl start containerctld')");
    return ExitCodes.Unreachable;
}
catch (DBusErrorReplyException e) when (e.ErrorName == Errors.BusAccessDenied)
{
    // The bus's policy refused the call before it reached the daemon; its own text names match rules.
    Cli.Say($"containerctl: {command}: permission denied: only root and members of group containerctl may {Help.Describe(command)}");
    return ExitCodes.Denied;
}
catch (DBusErrorReplyException e)
{
    Cli.Say($"containerctl: {command}: {e.ErrorMessage}");
    return ExitCodes.ForError(e.ErrorName);
}
