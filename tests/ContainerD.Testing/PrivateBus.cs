using System.Diagnostics;

namespace ContainerD.Testing;

/// <summary>A dbus-daemon of the test's own on a private address; killed on dispose.</summary>
public sealed class PrivateBus : IDisposable
{
    private readonly Process _process;

    public string Address { get; }
    /// <summary>The dbus-daemon's pid (to stop or kill it: a daemon that loses its bus).</summary>
    public int Pid => _process.Id;

    private PrivateBus(Process process, string address)
    {
        _process = process;
        Address = address;
    }

    /// <summary>Starts a bus from a config file (for policy tests), or a plain session-type bus.</summary>
    /// <param name="wrapper">An argv it runs under, e.g. SecondHost.Enter(): a bus checks its callers against the users of its /etc.</param>
    public static PrivateBus Start(string? configFile = null, IReadOnlyList<string>? wrapper = null)
    {
        var startInfo = new ProcessStartInfo(wrapper is { Count: > 0 } ? wrapper[0] : "dbus-daemon")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in wrapper is { Count: > 0 } ? [.. wrapper.Skip(1), "dbus-daemon"] : Array.Empty<string>())
        {
            startInfo.ArgumentList.Add(arg);
        }
        startInfo.ArgumentList.Add(configFile is null ? "--session" : $"--config-file={configFile}");
        startInfo.ArgumentList.Add("--nofork");
        startInfo.ArgumentList.Add("--print-address=1");
        var process = Process.Start(startInfo)!;
        string? address = process.StandardOutput.ReadLine();
        if (string.IsNullOrEmpty(address))
        {
            string error = process.StandardError.ReadToEnd();
            process.Kill();
            throw new InvalidOperationException($"dbus-daemon did not start: {error}");
        }
        return new PrivateBus(process, address.Trim());
    }

    public void Dispose()
    {
        try
        {
            _process.Kill();
            _process.WaitForExit();
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        _process.Dispose();
    }
}
