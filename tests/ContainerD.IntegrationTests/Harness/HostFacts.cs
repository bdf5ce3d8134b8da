namespace ContainerD.IntegrationTests.Harness;

/// <summary>Facts read straight from the host, not from the daemon under test.</summary>
public static class HostFacts
{
    /// <summary>The real uid of a process, from /proc/PID/status.</summary>
    public static long UidOf(int pid)
    {
        string line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("Uid:", StringComparison.Ordinal));
        return long.Parse(line.Split('\t', StringSplitOptions.RemoveEmptyEntries)[1]);
    }

    /// <summary>The uid that owns a file (stat), read with the stat tool to keep the harness free of native code.</summary>
    public static long OwnerOf(string path) => Stat("%u", path);

    /// <summary>The gid that owns a file.</summary>
    public static long GroupOf(string path) => Stat("%g", path);

    private static long Stat(string format, string path)
    {
        var startInfo = new System.Diagnostics.ProcessStartInfo("stat", ["-c", format, path]) { RedirectStandardOutput = true };
        using var process = System.Diagnostics.Process.Start(startInfo)!;
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return long.Parse(output.Trim());
    }

    public static bool ProcessExists(int pid) => Directory.Exists($"/proc/{pid}");
}
