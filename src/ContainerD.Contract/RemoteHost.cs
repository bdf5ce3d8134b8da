using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace ContainerD.Contract;

/// <summary>
/// Another machine, as `containerctl -H [USER@]HOST[:PORT]` names it (machinectl -H's syntax; an IPv6
/// address goes in brackets, [::1]:2222). Everything here is pure: parsing, and the argv for ssh,
/// whose remote command is the one place a string goes through a shell (the remote user's).
/// </summary>
public sealed partial record RemoteHost(string? User, string Host, int? Port)
{
    /// <summary>ssh's connect and key-exchange timeout: an unreachable or silent host fails within it.</summary>
    public const int ConnectTimeoutSeconds = 10;
    /// <summary>ssh's keep-alive: a connection that dies while a job runs is noticed after three missed answers.</summary>
    public const int ServerAliveSeconds = 10;

    /// <exception cref="FormatException">A message that names the part that is wrong.</exception>
    public static RemoteHost Parse(string spec)
    {
        if (spec.Length == 0)
        {
            throw new FormatException("the host is empty: give [USER@]HOST[:PORT]");
        }
        if (spec.Any(char.IsControl) || spec.Any(char.IsWhiteSpace))
        {
            throw new FormatException($"host {Shown(spec)} has a space or a control character: give [USER@]HOST[:PORT]");
        }
        string? user = null;
        string rest = spec;
        int at = spec.LastIndexOf('@');
        if (at >= 0)
        {
            user = spec[..at];
            rest = spec[(at + 1)..];
            if (!UserPattern().IsMatch(user))
            {
                throw new FormatException($"user {Shown(user)} in {Shown(spec)} is not a user name: letters, digits, '.', '_' and '-', not starting with '-'");
            }
        }
        string host;
        string? port = null;
        if (rest.StartsWith('['))
        {
            int close = rest.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                throw new FormatException($"host {Shown(spec)} opens '[' but does not close it: write an IPv6 address as [::1] or [::1]:2222");
            }
            host = rest[1..close];
            string after = rest[(close + 1)..];
            if (after.Length > 0)
            {
                port = after.StartsWith(':') ? after[1..] : throw new FormatException($"host {Shown(spec)} has {Shown(after)} after ']': only :PORT may follow");
            }
            if (!Ipv6Pattern().IsMatch(host))
            {
                throw new FormatException($"[{host}] in {Shown(spec)} is not an IPv6 address");
            }
        }
        else
        {
            int colon = rest.IndexOf(':', StringComparison.Ordinal);
            if (colon >= 0 && rest.IndexOf(':', colon + 1) >= 0)
            {
                throw new FormatException($"host {Shown(spec)} has more than one ':': write an IPv6 address in brackets, e.g. [::1]:2222");
            }
            host = colon >= 0 ? rest[..colon] : rest;
            port = colon >= 0 ? rest[(colon + 1)..] : null;
            if (host.Length == 0)
            {
                throw new FormatException($"host {Shown(spec)} names no host: give [USER@]HOST[:PORT]");
            }
            if (!HostPattern().IsMatch(host))
            {
                throw new FormatException($"host {Shown(host)} is not a host name or address: letters, digits, '.', '_' and '-', starting with a letter or digit");
            }
        }
        int? number = null;
        if (port is not null)
        {
            number = port.Length is > 0 and <= 5 && port.All(char.IsAsciiDigit) && int.Parse(port, CultureInfo.InvariantCulture) is var p and >= 1 and <= 65535
                ? p : throw new FormatException($"port {Shown(port)} in {Shown(spec)} is not a port number (1-65535)");
        }
        return new RemoteHost(user, host, number);
    }

    public override string ToString() =>
        (User is null ? "" : User + "@") + (Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]" : Host)
        + (Port is { } p ? ":" + p.ToString(CultureInfo.InvariantCulture) : "");

    /// <summary>
    /// ssh's argv up to and including the host; the remote command follows it as one word (see
    /// <see cref="RemoteCommand"/>). The host comes after "--", so nothing in it is read as an option.
    /// </summary>
    /// <param name="terminal">-t (a terminal on the far side, for shell) rather than -T.</param>
    public List<string> SshArguments(string? configFile, bool terminal)
    {
        List<string> args = ["-x", terminal ? "-t" : "-T", .. CommonSshOptions(configFile)];
        if (User is not null)
        {
            args.AddRange(["-l", User]);
        }
        args.AddRange(["--", Host]);
        return args;
    }

    /// <summary>The options every ssh to this host gets, from containerctl or from Nix (NIX_SSHOPTS).</summary>
    private List<string> CommonSshOptions(string? configFile)
    {
        List<string> args = [];
        if (configFile is not null)
        {
            args.AddRange(["-F", configFile]);
        }
        if (Port is { } port)
        {
            args.AddRange(["-p", port.ToString(CultureInfo.InvariantCulture)]);
        }
        args.AddRange(["-o", $"ConnectTimeout={ConnectTimeoutSeconds}", "-o", $"ServerAliveInterval={ServerAliveSeconds}"]);
        return args;
    }

    /// <summary>
    /// NIX_SSHOPTS for nix-copy-closure: Nix splits it at whitespace (it is not a shell), so a config
    /// path with a space cannot be passed and is refused rather than split.
    /// </summary>
    /// <exception cref="FormatException"/>
    public string NixSshOptions(string? configFile)
    {
        if (configFile is not null && configFile.Any(char.IsWhiteSpace))
        {
            throw new FormatException($"the ssh config {Shown(configFile)} has a space in its path, which Nix's NIX_SSHOPTS cannot carry: use a path without one");
        }
        return string.Join(' ', CommonSshOptions(configFile));
    }

    /// <summary>How a person reaches the host with ssh, for a hint in a message.</summary>
    public string SshCommandLine => "ssh " + (Port is { } p ? $"-p {p.ToString(CultureInfo.InvariantCulture)} " : "") + NixDestination;

    /// <summary>What nix-copy-closure --to takes: [USER@]HOST (the port goes in NIX_SSHOPTS).</summary>
    public string NixDestination => (User is null ? "" : User + "@") + Host;

    /// <summary>
    /// The remote side of the bus connection: systemd-stdio-bridge, as machinectl -H runs it, on the
    /// remote host's system bus, its user bus ("session") or the bus at an address.
    /// </summary>
    public static List<string> BridgeCommand(string bus) =>
    [
        // Its errors on stderr, which ssh brings back: without a terminal systemd's tools log to the
        // journal (or the kernel's log), and the reason a connection failed would stay over there.
        "env", "SYSTEMD_LOG_TARGET=console",
        .. bus switch
        {
            "system" => ["systemd-stdio-bridge"],
            "session" => ["systemd-stdio-bridge", "--user"],
            _ => (string[])["systemd-stdio-bridge", "--bus-path=" + bus],
        },
    ];

    /// <summary>
    /// The remote command as the one string ssh hands the remote user's shell: each word quoted so
    /// that the shell gives it back as it is — POSIX sh, bash, dash and zsh, and csh and fish too
    /// (single quotes, with ' and \ outside them). A control character (a newline: csh breaks on it)
    /// cannot be passed safely and is refused.
    /// </summary>
    /// <exception cref="FormatException"/>
    public static string RemoteCommand(IEnumerable<string> argv) => string.Join(' ', argv.Select(Quote));

    public static string Quote(string word)
    {
        if (word.Any(char.IsControl))
        {
            throw new FormatException($"{Shown(word)} has a control character, which cannot be passed to a command on another host");
        }
        if (word.Length > 0 && SafeWordPattern().IsMatch(word))
        {
            return word;
        }
        var quoted = new StringBuilder("'");
        foreach (char c in word)
        {
            quoted.Append(c switch
            {
                '\'' => @"'\''",
                '\\' => @"'\\'",
                _ => c.ToString(),
            });
        }
        return quoted.Append('\'').ToString();
    }

    /// <summary>At most 40 characters of what the user typed, quoted, as the rest of the API shows input.</summary>
    private static string Shown(string text) => "'" + (text.Length > 40 ? text[..40] + "…" : text) + "'";

    // useradd's names and more (ssh passes -l as it is): not starting with '-', which ssh would take for an option.
    [GeneratedRegex(@"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}\$?\z", RegexOptions.CultureInvariant)]
    private static partial Regex UserPattern();

    // A DNS name, an ssh_config alias or an IPv4 address: never starting with '-'.
    [GeneratedRegex(@"^(?=.{1,253}\z)[A-Za-z0-9][A-Za-z0-9._-]*\z", RegexOptions.CultureInvariant)]
    private static partial Regex HostPattern();

    [GeneratedRegex(@"^(?=.{2,63}\z)[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*(%[A-Za-z0-9_.-]+)?\z", RegexOptions.CultureInvariant)]
    private static partial Regex Ipv6Pattern();

    // Words every shell reads as they are (no glob, no expansion, no word split, no '~' or '=' start).
    [GeneratedRegex(@"^[A-Za-z0-9_@+:,./-][A-Za-z0-9_@+=:,./-]*\z", RegexOptions.CultureInvariant)]
    private static partial Regex SafeWordPattern();
}
