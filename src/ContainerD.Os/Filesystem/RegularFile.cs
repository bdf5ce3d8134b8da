using Microsoft.Win32.SafeHandles;
using Mono.Unix.Native;

namespace ContainerD.Os.Filesystem;

/// <summary>Files an admin drops into a directory the daemon reads: regular files only.</summary>
public static class RegularFile
{
    /// <summary>
    /// The text of a regular file (through symlinks). Anything else is an IOException saying what it
    /// is: a FIFO is opened without waiting for a writer (O_NONBLOCK), so it cannot hang the reader.
    /// </summary>
    public static string ReadAllText(string path)
    {
        int fd = Syscall.open(path, OpenFlags.O_RDONLY | OpenFlags.O_NONBLOCK | OpenFlags.O_CLOEXEC | OpenFlags.O_NOCTTY);
        if (fd < 0)
        {
            var errno = Stdlib.GetLastError();
            throw errno == Errno.ENOENT ? new FileNotFoundException($"{path}: {errno}", path) : new IOException($"{path}: {errno}");
        }
        using var handle = new SafeFileHandle(fd, ownsHandle: true);
        if (Syscall.fstat(fd, out Stat stat) != 0)
        {
            throw new IOException($"{path}: {Stdlib.GetLastError()}");
        }
        var type = stat.st_mode & FilePermissions.S_IFMT;
        if (type != FilePermissions.S_IFREG)
        {
            throw new IOException(type switch
            {
                FilePermissions.S_IFIFO => "it is a FIFO, not a regular file",
                FilePermissions.S_IFDIR => "it is a directory, not a regular file",
                _ => "it is a device or a socket, not a regular file",
            });
        }
        using var stream = new FileStream(handle, FileAccess.Read);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
