using System.Globalization;
using System.Runtime.InteropServices;

namespace ContainerD.Os.Processes;

/// <summary>
/// What the daemon was started with beyond stdin, stdout and stderr — a directory a wrapper left
/// open, a pipe of the tool that started it — is marked close-on-exec at start, before any child:
/// every command run in a container (lxc-attach passes on what it inherits) would otherwise get it,
/// and a directory descriptor of the host's reaches the host's files from inside.
/// </summary>
public static partial class InheritedDescriptors
{
    private const uint CloseRangeCloexec = 1u << 2;
    private const int FSetfd = 2, FdCloexec = 1;

    public static void CloseOnExec()
    {
        if (close_range(3, uint.MaxValue, CloseRangeCloexec) == 0)
        {
            return;
        }
        // Before Linux 5.11: one by one.
        foreach (string entry in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
        {
            if (int.TryParse(Path.GetFileName(entry), NumberStyles.None, CultureInfo.InvariantCulture, out int fd) && fd > 2)
            {
                _ = fcntl(fd, FSetfd, FdCloexec);
            }
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close_range(uint first, uint last, uint flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fcntl(int fd, int command, int argument);
}
