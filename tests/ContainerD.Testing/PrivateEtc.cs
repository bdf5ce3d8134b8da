namespace ContainerD.Testing;

/// <summary>
/// The tests change /etc — test users and groups, root's lines in /etc/subuid and /etc/subgid —
/// so they run only where /etc is a private overlay (tests/private-etc.sh, which test.sh uses):
/// what they change vanishes with the namespace and the host's files stay as they were.
/// </summary>
public static class PrivateEtc
{
    public static string Script => Path.Combine(Repo.Root, "tests", "private-etc.sh");

    /// <summary>True when this process's /etc is an overlay mount (its own mount namespace's).</summary>
    public static bool IsActive => MountAt("/etc") is { FsType: "overlay" };

    public static void Require()
    {
        if (!IsActive)
        {
            throw new InvalidOperationException(
                "these tests change /etc (test users, root's /etc/subuid lines) and run only where /etc is a private overlay: "
                + $"run ./test.sh, or {Script} dotnet test … for a focused run");
        }
    }

    /// <summary>The mount at that point in /proc/self/mountinfo (the last one, which is on top), or null.</summary>
    public static (string MountPoint, string FsType)? MountAt(string mountPoint, int pid = 0)
    {
        (string, string)? found = null;
        foreach (string line in File.ReadLines(pid == 0 ? "/proc/self/mountinfo" : $"/proc/{pid}/mountinfo"))
        {
            // id parent major:minor root mount-point options [optional…] - fstype source super-options
            string[] fields = line.Split(' ');
            int separator = Array.IndexOf(fields, "-");
            if (fields.Length > 4 && separator > 0 && separator + 1 < fields.Length && fields[4] == mountPoint)
            {
                found = (fields[4], fields[separator + 1]);
            }
        }
        return found;
    }
}
