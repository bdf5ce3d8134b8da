using System.Globalization;

namespace ContainerD.Os.Processes;

/// <summary>
/// Finds and kills what a previous daemon left running: its tools (nix-build, nix-env, lxc-monitor
/// …) whose command line names this daemon's own paths. Never a container: the LXC monitor of a
/// running container is "[lxc monitor] …", and lxc-start is not on the list.
/// </summary>
public static class OrphanReaper
{
    /// <summary>Tools the daemon runs that must not outlive it (nix: flake builds).</summary>
    public static readonly IReadOnlySet<string> Tools = new HashSet<string>(StringComparer.Ordinal)
    {
        "nix", "nix-build", "nix-env", "nix-store", "nix-instantiate", "lxc-monitor", "lxc-info", "lxc-stop",
    };

    /// <summary>One process: its pid and argv.</summary>
    public sealed record ProcessInfo(int Pid, IReadOnlyList<string> Argv);

    /// <summary>
    /// The processes of `processes` that are one of Tools and name a path under one of `roots` (or a
    /// root itself) in their argv. Pure: tests feed it made-up process lists.
    /// </summary>
    public static IReadOnlyList<ProcessInfo> Orphans(IEnumerable<ProcessInfo> processes, IReadOnlyList<string> roots, int self)
    {
        var trimmed = roots.Select(r => r.TrimEnd('/')).Where(r => r.Length > 0).ToList();
        return processes
            .Where(p => p.Pid != self && p.Argv.Count > 0 && Tools.Contains(Path.GetFileName(p.Argv[0])))
            .Where(p => p.Argv.Skip(1).Any(a => trimmed.Any(r => a == r || a.StartsWith(r + "/", StringComparison.Ordinal))))
            .ToList();
    }

    /// <summary>Every process on the host, from /proc (those that end while being read are skipped).</summary>
    public static IEnumerable<ProcessInfo> Running()
    {
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
            {
                continue;
            }
            string cmdline;
            try
            {
                cmdline = File.ReadAllText(Path.Combine(dir, "cmdline"));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }
            yield return new ProcessInfo(pid, cmdline.Split('\0', StringSplitOptions.RemoveEmptyEntries));
        }
    }

    /// <summary>Kills (SIGKILL) the orphans under roots; returns what it killed.</summary>
    public static IReadOnlyList<ProcessInfo> Reap(IReadOnlyList<string> roots)
    {
        var orphans = Orphans(Running(), roots, Environment.ProcessId);
        foreach (var orphan in orphans)
        {
            try
            {
                using var process = System.Diagnostics.Process.GetProcessById(orphan.Pid);
                process.Kill();
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                // It ended meanwhile.
            }
        }
        return orphans;
    }
}
