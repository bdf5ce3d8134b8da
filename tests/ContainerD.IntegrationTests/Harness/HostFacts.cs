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

    public static bool ProcessExists(int pid) => Directory.Exists($"/proc/{pid}");
}
