using System.Text;
using Microsoft.Win32.SafeHandles;
using Mono.Unix.Native;

namespace ContainerD.Os;

/// <summary>
/// The one way the daemon writes a state file: temp file in the same dir, write, fsync, chmod,
/// rename over the old file, fsync the dir. A crash leaves the old file or the new one, whole.
/// </summary>
public static class AtomicFile
{
    /// <param name="durable">
    /// False for a file that only records something for people (how a job ended), which a write must
    /// not wait on: no fsyncs (two per write, ~0.5 ms). A daemon crash still leaves the old file or
    /// the new one (the kernel keeps what was written); only a power loss may lose the latest write.
    /// </param>
    public static void Write(string path, string contents, UnixFileMode mode, bool durable = true) =>
        Write(path, Encoding.UTF8.GetBytes(contents), mode, durable);

    public static void Write(string path, ReadOnlySpan<byte> contents, UnixFileMode mode, bool durable = true)
    {
        string dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        string temp = Path.Combine(dir, $".{Path.GetFileName(path)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (SafeFileHandle handle = File.OpenHandle(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, FileOptions.None))
            {
                // Mode before content: the secret never sits in a world-readable file.
                File.SetUnixFileMode(handle, mode);
                RandomAccess.Write(handle, contents, 0);
                if (durable)
                {
                    RandomAccess.FlushToDisk(handle);
                }
            }
            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
        if (durable)
        {
            SyncDirectory(dir);
        }
    }

    /// <summary>fsync of the directory makes the rename itself durable.</summary>
    public static void SyncDirectory(string dir)
    {
        int fd = Syscall.open(dir, OpenFlags.O_RDONLY | OpenFlags.O_DIRECTORY);
        if (fd < 0)
        {
            throw new IOException($"cannot open {dir} to sync it: {Stdlib.GetLastError()}");
        }
        try
        {
            if (Syscall.fsync(fd) != 0)
            {
                throw new IOException($"cannot sync {dir}: {Stdlib.GetLastError()}");
            }
        }
        finally
        {
            Syscall.close(fd);
        }
    }
}
