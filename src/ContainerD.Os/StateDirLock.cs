using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using ContainerD.Domain;
using Microsoft.Win32.SafeHandles;

namespace ContainerD.Os;

/// <summary>
/// One daemon per state dir: an exclusive flock on STATEDIR/containerctld.lock, taken before the
/// daemon reads or changes anything there and held until it exits (the kernel drops it on any
/// exit, kill -9 included). The file holds the owner's pid, for the message a second daemon gets.
/// </summary>
public sealed partial class StateDirLock : IDisposable
{
    public const string FileName = "containerctld.lock";
    private const int ORdwr = 0x2, OCreat = 0x40, OCloexec = 0x80000, ONofollow = 0x20000;
    private const int LockEx = 2, LockNb = 4;
    private const int EWouldBlock = 11;

    private readonly SafeFileHandle _handle;

    private StateDirLock(SafeFileHandle handle) => _handle = handle;

    /// <summary>Takes the lock, or throws a one-line ContainerDException saying who holds it or why it cannot be taken.</summary>
    public static StateDirLock Acquire(string stateDir)
    {
        string path = Path.Combine(stateDir, FileName);
        try
        {
            // The state dir itself is all that may be made before the lock is ours (0711, as StateStore keeps it).
            Directory.CreateDirectory(stateDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ContainerDException(ErrorKind.Failed, $"cannot create the state dir {stateDir}: {e.Message}");
        }
        // Close-on-exec: no child (nix-build, a container's lxc-start) may inherit the lock and outlive us with it.
        int fd = open(path, ORdwr | OCreat | OCloexec | ONofollow, 0b110_000_000);
        if (fd < 0)
        {
            throw new ContainerDException(ErrorKind.Failed,
                $"cannot open {path}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())} (the state dir must be writable)");
        }
        var handle = new SafeFileHandle(fd, ownsHandle: true);
        if (flock(handle, LockEx | LockNb) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            string holder = ReadHolder(handle);
            handle.Dispose();
            throw new ContainerDException(ErrorKind.Failed, errno == EWouldBlock
                ? $"another containerctld{holder} uses the state dir {stateDir}: stop it first, or give this daemon its own stateDir"
                : $"cannot lock {path}: {Marshal.GetPInvokeErrorMessage(errno)}");
        }
        try
        {
            byte[] pid = Encoding.ASCII.GetBytes(Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + "\n");
            RandomAccess.SetLength(handle, 0);
            RandomAccess.Write(handle, pid, 0);
        }
        catch (IOException e)
        {
            handle.Dispose();
            throw new ContainerDException(ErrorKind.Failed, $"cannot write {path}: {e.Message} (the state dir must be writable)");
        }
        return new StateDirLock(handle);
    }

    public void Dispose() => _handle.Dispose();

    private static string ReadHolder(SafeFileHandle handle)
    {
        try
        {
            var buffer = new byte[32];
            int read = RandomAccess.Read(handle, buffer, 0);
            string text = Encoding.ASCII.GetString(buffer, 0, read).Trim();
            return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int pid) ? $" (pid {pid})" : "";
        }
        catch (IOException)
        {
            return "";
        }
    }

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags, int mode);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int flock(SafeFileHandle fd, int operation);
}
