using ContainerD.Cli;
using ContainerD.Contract;
using Tmds.DBus.Protocol;

// containerctl [-H [USER@]HOST[:PORT]] [--ssh-config FILE] [--bus system|session|ADDRESS] COMMAND …
string bus = Environment.GetEnvironmentVariable("CONTAINERCTL_BUS") is { Length: > 0 } fromEnv ? fromEnv : "system";
string? host = Environment.GetEnvironmentVariable("CONTAINERCTL_HOST") is { Length: > 0 } hostFromEnv ? hostFromEnv : null;
string? sshConfig = Environment.GetEnvironmentVariable("CONTAINERCTL_SSH_CONFIG") is { Length: > 0 } configFromEnv ? configFromEnv : null;
bool sshConfigGiven = false;
var words = args.ToList();
while (words.Count > 0 && words[0].StartsWith('-'))
{
    if (words[0] is "--bus" or "-H" or "--host" or "--ssh-config" && words.Count > 1)
    {
        if (words[0] == "--bus")
        {
            bus = words[1];
        }
        else if (words[0] == "--ssh-config")
        {
            sshConfig = words[1];
            sshConfigGiven = true;
        }
        else
        {
            host = words[1];
        }
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
// For the shell's completion (contrib/containerctl.bash): the commands and their options, from the help texts.
if (words is ["__complete", "commands"])
{
    Console.Out.Write(string.Concat(Help.CommandNames.Select(c => c + "\n")));
    return ExitCodes.Ok;
}
if (words is ["__complete", "options", var ofCommand])
{
    Console.Out.Write(string.Concat(Help.OptionsOf(ofCommand).Select(o => o + "\n")));
    return ExitCodes.Ok;
}

Target target;
try
{
    target = new Target(bus, host is null ? null : new SshRoute(RemoteHost.Parse(host), sshConfig), sshConfig);
}
catch (FormatException e)
{
    Console.Error.WriteLine($"containerctl: -H: {e.Message}; see 'containerctl --help'");
    return ExitCodes.InvalidInput;
}
DaemonWatch.RemoteHost = target.Remote?.Host;
if (host is null && sshConfigGiven && words[0] is not ("copy" or "move" or "__move-guard"))
{
    Console.Error.WriteLine("containerctl: --ssh-config goes with -H HOST; see 'containerctl --help'");
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
    return await Commands.RunAsync(target, arguments);
}
catch (RemoteUnreachableException e)
{
    Cli.Say($"containerctl: {e.Message}");
    return ExitCodes.Unreachable;
}
catch (CliException e)
{
    Cli.Say($"containerctl: {e.Message}");
    return e.ExitCode;
}
catch (DBusConnectFailedException)
{
    Console.Error.WriteLine($"containerctl: cannot reach containerctld on {target.Describe} — is containerctld.service running? ({target.StartHint})");
    return ExitCodes.Unreachable;
}
catch (DBusErrorReplyException e) when (ExitCodes.ForError(e.ErrorName) == ExitCodes.Unreachable)
{
    Console.Error.WriteLine($"containerctl: cannot reach containerctld on {target.Describe} — is containerctld.service running? ({target.StartHint})");
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
