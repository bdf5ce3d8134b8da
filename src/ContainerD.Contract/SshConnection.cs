using System.Diagnostics;
using System.Text;
using Tmds.DBus.Protocol;

namespace ContainerD.Contract;

/// <summary>Another host's daemon: the host, and an ssh config to use instead of ~/.ssh/config (ssh -F).</summary>
public sealed record SshRoute(RemoteHost Host, string? ConfigFile = null);

/// <summary>The ssh connection to another host's bus failed; the message says where and why (ssh's own words).</summary>
public sealed class RemoteUnreachableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// A D-Bus connection that runs over ssh, as machinectl -H's does: `ssh -xT [-p PORT] [-l USER] -- HOST
/// systemd-stdio-bridge [--bus-path=ADDRESS]`, with ssh's stdin and stdout as the connection's stream
/// (Tmds.DBus.Protocol's SetupResult.ConnectionStream; it has no unixexec: transport). The bridge
/// connects to the remote bus as the ssh user, so the remote daemon sees that user's uid and applies
/// its policy and admin group unchanged. File descriptors cannot cross: OpenShell and OpenConsoleLog
/// are not for this connection (containerctl runs the remote containerctl under ssh for those).
/// </summary>
internal sealed class SshConnectionOptions(SshRoute route, string bus, Action<string>? onSshMessage) : DBusConnectionOptions, IDisposable
{
    private readonly List<string> _early = [];
    private readonly object _lock = new();
    private Process? _ssh;
    private bool _connected;

    public string Describe => $"{BusAddress.Describe(bus)} of {route.Host}";

    protected override ValueTask<SetupResult> SetupAsync(CancellationToken cancellationToken)
    {
        var startInfo = new ProcessStartInfo("ssh")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in route.Host.SshArguments(route.ConfigFile, terminal: false))
        {
            startInfo.ArgumentList.Add(arg);
        }
        startInfo.ArgumentList.Add(RemoteHost.RemoteCommand(RemoteHost.BridgeCommand(bus)));
        var ssh = new Process { StartInfo = startInfo };
        ssh.ErrorDataReceived += (_, e) => OnStderr(e.Data);
        try
        {
            ssh.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            ssh.Dispose();
            throw new RemoteUnreachableException($"cannot run ssh to reach {route.Host}: {e.Message} (install openssh-client)", e);
        }
        ssh.BeginErrorReadLine();
        _ssh = ssh;
        // EXTERNAL with our uid: the bridge authenticates anonymously (a pipe carries no credentials)
        // and ignores it; the bus sees the ssh user, whoever we are here. Without a user id the
        // library would offer ANONYMOUS only, which the bridge answers with DATA, not OK.
        return ValueTask.FromResult(new SetupResult
        {
            ConnectionStream = new ProcessStream(ssh),
            TeardownToken = ssh,
            UserId = geteuid().ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
    }

    [System.Runtime.InteropServices.DllImport("libc")]
    private static extern uint geteuid();

    protected override void Teardown(object? token) => Kill(token as Process);

    /// <summary>Ends ssh; the connection's stream and this object may both try, in either order.</summary>
    private static void Kill(Process? ssh)
    {
        try
        {
            if (ssh is { HasExited: false })
            {
                ssh.Kill();
            }
        }
        catch (InvalidOperationException)
        {
            // It exited meanwhile, or was never started.
        }
    }

    // The Process object is not disposed: the connection's reader may still ask it whether ssh has
    // exited after this client is done with it. Its handles go with the process.
    public void Dispose() => Kill(_ssh);

    /// <summary>The connection is up: what ssh said so far (a warning) and says from now on goes to onSshMessage.</summary>
    public void Connected()
    {
        string[] early;
        lock (_lock)
        {
            _connected = true;
            early = [.. _early];
        }
        foreach (string line in early)
        {
            onSshMessage?.Invoke(line);
        }
    }

    private void OnStderr(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_lock)
        {
            if (!_connected)
            {
                // Bounded: only the last lines go into an error message.
                if (_early.Count == 20)
                {
                    _early.RemoveAt(0);
                }
                _early.Add(line);
                return;
            }
        }
        onSshMessage?.Invoke(line);
    }

    /// <summary>Why the connection failed: ssh's exit status and its last words, waited for briefly.</summary>
    public string DescribeFailure(Exception failure)
    {
        var ssh = _ssh;
        if (ssh is null)
        {
            return $"cannot reach {Describe}: {failure.Message}";
        }
        // ssh is exiting (its stdout ended); WaitForExit also waits for the end of its stderr.
        bool exited = ssh.WaitForExit(TimeSpan.FromSeconds(3));
        if (exited)
        {
            ssh.WaitForExit();
        }
        string said;
        lock (_lock)
        {
            said = string.Join("; ", _early.Select(l => l.Trim()).Where(l => l.Length > 0));
        }
        string because = said.Length > 0 ? $": {said}" : "";
        if (!exited || ssh.ExitCode == 137)
        {
            // ssh was still up (this side ended it): the bytes that came back were not the bridge's D-Bus.
            return $"cannot reach {Describe}: the D-Bus handshake through ssh failed ({failure.Message}); does something on {route.Host} "
                + $"print to stdout for a non-interactive ssh session (a login script)?{because}";
        }
        return ssh.ExitCode switch
        {
            255 => $"cannot reach {route.Host} through ssh{because}",
            0 => $"cannot reach {Describe}: systemd-stdio-bridge on {route.Host} ended the connection at once (did that bus refuse the ssh user?){because}",
            127 => $"{route.Host} has no systemd-stdio-bridge on its PATH (it comes with systemd ≥ 209; Debian 12 has it in /usr/bin){because}",
            _ => $"cannot reach {Describe}: systemd-stdio-bridge exited with {ssh.ExitCode}{because}",
        };
    }

    /// <summary>
    /// ssh's stdout (read) and stdin (write) as one stream. Disposing it kills ssh, which ends a
    /// read in progress with end of stream, as the connection expects of its stream.
    /// </summary>
    private sealed class ProcessStream(Process process) : Stream
    {
        private readonly Stream _in = process.StandardOutput.BaseStream;
        private readonly Stream _out = process.StandardInput.BaseStream;

        public override bool CanRead => true;
        public override bool CanWrite => true;
        public override bool CanSeek => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        /// <summary>ssh's stdout ended: the remote command did, and ssh is exiting with its status.</summary>
        private volatile bool _ended;

        public override int Read(byte[] buffer, int offset, int count) => Seen(_in.Read(buffer, offset, count));
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Seen(await _in.ReadAsync(buffer, cancellationToken).ConfigureAwait(false));
        public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            Seen(await _in.ReadAsync(buffer.AsMemory(offset, count), cancellationToken).ConfigureAwait(false));

        private int Seen(int read)
        {
            _ended |= read == 0;
            return read;
        }
        public override void Write(byte[] buffer, int offset, int count) => _out.Write(buffer, offset, count);
        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => _out.WriteAsync(buffer, cancellationToken);
        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => _out.WriteAsync(buffer, offset, count, cancellationToken);
        public override void Flush() => _out.Flush();
        public override Task FlushAsync(CancellationToken cancellationToken) => _out.FlushAsync(cancellationToken);
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                // Ended by the far side: a moment for ssh to exit on its own, so that its status (the
                // bridge's: 1 for a bus it could not reach, 127 for none) is there to say why.
                if (_ended)
                {
                    process.WaitForExit(TimeSpan.FromSeconds(2));
                }
                Kill(process);
                _out.Dispose();
                _in.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
