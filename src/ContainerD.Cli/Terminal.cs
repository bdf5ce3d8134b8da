using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace ContainerD.Cli;

/// <summary>
/// The user's terminal for `shell`: raw mode while the session runs (keys such as Ctrl-C go to the
/// container, not to containerctl) and the window size passed on to the container's pty.
/// </summary>
public sealed partial class Terminal : IDisposable
{
    private const int StdinFd = 0, StdoutFd = 1;
    private const int TcsaNow = 0;
    private const nuint Tiocgwinsz = 0x5413, Tiocswinsz = 0x5414;
    // struct termios is 60 bytes on Linux/glibc; room to spare.
    private readonly byte[]? _saved;

    private Terminal(byte[]? saved) => _saved = saved;

    /// <summary>Puts stdin in raw mode when it is a terminal; disposing restores it.</summary>
    public static Terminal EnterRawMode()
    {
        if (isatty(StdinFd) != 1)
        {
            return new Terminal(null);
        }
        var saved = new byte[128];
        if (tcgetattr(StdinFd, saved) != 0)
        {
            return new Terminal(null);
        }
        var raw = (byte[])saved.Clone();
        cfmakeraw(raw);
        tcsetattr(StdinFd, TcsaNow, raw);
        return new Terminal(saved);
    }

    /// <summary>Gives the pty the size of the user's terminal (none when stdout is no terminal).</summary>
    public static void CopyWindowSize(SafeFileHandle pty)
    {
        var size = new ushort[4];
        if (ioctl(StdoutFd, Tiocgwinsz, size) == 0 || ioctl(StdinFd, Tiocgwinsz, size) == 0)
        {
            ioctl((int)pty.DangerousGetHandle(), Tiocswinsz, size);
        }
    }

    public void Dispose()
    {
        if (_saved is not null)
        {
            tcsetattr(StdinFd, TcsaNow, _saved);
        }
    }

    [LibraryImport("libc")]
    private static partial int isatty(int fd);

    [LibraryImport("libc")]
    private static partial int tcgetattr(int fd, [Out] byte[] termios);

    [LibraryImport("libc")]
    private static partial int tcsetattr(int fd, int when, byte[] termios);

    [LibraryImport("libc")]
    private static partial void cfmakeraw([In, Out] byte[] termios);

    [LibraryImport("libc")]
    private static partial int ioctl(int fd, nuint request, [In, Out] ushort[] winsize);
}
