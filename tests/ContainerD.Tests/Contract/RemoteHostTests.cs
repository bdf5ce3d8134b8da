using System.Diagnostics;
using ContainerD.Contract;

namespace ContainerD.Tests.Contract;

/// <summary>-H's host spec and the argv containerctl gives ssh and Nix for it.</summary>
public sealed class RemoteHostTests
{
    [Theory]
    [InlineData("web1", null, "web1", null)]
    [InlineData("root@web1", "root", "web1", null)]
    [InlineData("alice@web1.example.org:2222", "alice", "web1.example.org", 2222)]
    [InlineData("10.0.0.7:22", null, "10.0.0.7", 22)]
    [InlineData("[::1]", null, "::1", null)]
    [InlineData("ops@[fd42::7]:65535", "ops", "fd42::7", 65535)]
    [InlineData("my_alias", null, "my_alias", null)]
    public void A_host_spec_is_user_host_and_port(string spec, string? user, string host, int? port)
    {
        var parsed = RemoteHost.Parse(spec);
        Assert.Equal(new RemoteHost(user, host, port), parsed);
        Assert.Equal(spec, parsed.ToString());
    }

    [Theory]
    [InlineData("", "the host is empty")]
    [InlineData("a b", "has a space or a control character")]
    [InlineData("web\n1", "has a space or a control character")]
    [InlineData("-oProxyCommand=x", "'-oProxyCommand=x' is not a host name or address")]
    [InlineData("root@-p", "'-p' is not a host name or address")]
    [InlineData("-l@web", "user '-l' in '-l@web' is not a user name")]
    [InlineData("@web", "user '' in '@web' is not a user name")]
    [InlineData("root@", "names no host")]
    [InlineData(":22", "names no host")]
    [InlineData("web:", "port '' in 'web:' is not a port number (1-65535)")]
    [InlineData("web:0", "is not a port number")]
    [InlineData("web:65536", "is not a port number")]
    [InlineData("web:22x", "is not a port number")]
    [InlineData("web:+22", "is not a port number")]
    [InlineData("::1", "write an IPv6 address in brackets")]
    [InlineData("[::1", "does not close it")]
    [InlineData("[::1]x", "only :PORT may follow")]
    [InlineData("[web]", "is not an IPv6 address")]
    [InlineData("we$b", "is not a host name or address")]
    [InlineData("web;id", "is not a host name or address")]
    public void A_bad_host_spec_is_refused_naming_what_is_wrong(string spec, string says)
    {
        var e = Assert.Throws<FormatException>(() => RemoteHost.Parse(spec));
        Assert.Contains(says, e.Message);
    }

    [Fact]
    public void Ssh_gets_options_then_the_host_after_a_double_dash()
    {
        var host = RemoteHost.Parse("alice@web1:2222");
        Assert.Equal(["-x", "-T", "-F", "/etc/ctd/ssh.conf", "-p", "2222", "-o", "ConnectTimeout=10", "-o", "ServerAliveInterval=10", "-l", "alice", "--", "web1"],
            host.SshArguments("/etc/ctd/ssh.conf", terminal: false));
        Assert.Equal(["-x", "-t", "-o", "ConnectTimeout=10", "-o", "ServerAliveInterval=10", "--", "web1"],
            RemoteHost.Parse("web1").SshArguments(null, terminal: true));
        Assert.Equal("alice@web1", host.NixDestination);
        Assert.Equal("-F /etc/ctd/ssh.conf -p 2222 -o ConnectTimeout=10 -o ServerAliveInterval=10", host.NixSshOptions("/etc/ctd/ssh.conf"));
        Assert.Contains("cannot carry", Assert.Throws<FormatException>(() => host.NixSshOptions("/etc/my ssh.conf")).Message);
        Assert.Equal("ssh -p 2222 alice@web1", host.SshCommandLine);
    }

    [Theory]
    [InlineData("system", new[] { "env", "SYSTEMD_LOG_TARGET=console", "systemd-stdio-bridge" })]
    [InlineData("session", new[] { "env", "SYSTEMD_LOG_TARGET=console", "systemd-stdio-bridge", "--user" })]
    [InlineData("unix:path=/run/ctd/bus", new[] { "env", "SYSTEMD_LOG_TARGET=console", "systemd-stdio-bridge", "--bus-path=unix:path=/run/ctd/bus" })]
    public void The_bridge_connects_to_the_named_bus_of_the_remote_host(string bus, string[] argv) =>
        Assert.Equal(argv, RemoteHost.BridgeCommand(bus));

    [Theory]
    [InlineData("web", "web")]
    [InlineData("--bus-path=unix:path=/run/x,guid=ab12", "--bus-path=unix:path=/run/x,guid=ab12")]
    [InlineData("", "''")]
    [InlineData("a b", "'a b'")]
    [InlineData("it's", @"'it'\''s'")]
    [InlineData(@"back\slash", @"'back'\\'slash'")]
    [InlineData("~root", "'~root'")]
    [InlineData("A=b", "A=b")]
    [InlineData("=ls", "'=ls'")]
    [InlineData("$(id)", "'$(id)'")]
    public void Words_for_the_remote_shell_are_quoted_unless_every_shell_reads_them_as_they_are(string word, string quoted) =>
        Assert.Equal(quoted, RemoteHost.Quote(word));

    [Fact]
    public void A_control_character_cannot_be_quoted_for_every_shell_and_is_refused()
    {
        Assert.Contains("control character", Assert.Throws<FormatException>(() => RemoteHost.Quote("a\nb")).Message);
        Assert.Throws<FormatException>(() => RemoteHost.RemoteCommand(["containerctl", "logs", "x\rtouch y"]));
    }

    [Theory]
    [InlineData("sh")]
    [InlineData("bash")]
    [InlineData("dash")]
    public void A_shell_gives_back_each_quoted_word_as_it_was(string shell)
    {
        if (!File.Exists("/bin/" + shell))
        {
            return;
        }
        string[] words = ["plain", "a b", "it's", @"back\slash\\", "$(touch /tmp/never)", "`id`", "*", "~", "A=b", "", "'\"'", "ünï", "; rm -rf /", "!x"];
        var startInfo = new ProcessStartInfo("/bin/" + shell) { RedirectStandardOutput = true, UseShellExecute = false };
        startInfo.ArgumentList.Add("-c");
        // What ssh hands the remote shell: printf's format, then the words, each NUL-terminated in the output.
        startInfo.ArgumentList.Add(RemoteHost.RemoteCommand(["printf", "%s\\0", .. words]));
        using var process = Process.Start(startInfo)!;
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.Equal(0, process.ExitCode);
        Assert.Equal(words, output.Split('\0')[..^1]);
    }
}
