using Microsoft.Win32.SafeHandles;

namespace ContainerD.Cli;

/// <summary>
/// stdout for commands that follow something until nobody reads: a write after the reader went
/// away (`containerctl events | head -3`) throws IOException (EPIPE). Console's own streams
/// swallow EPIPE, so a follower writing through them never learns that its reader is gone.
/// </summary>
public static class StandardOutput
{
    private const int Epipe = 32;

    /// <summary>fd 1, unbuffered, left open when disposed.</summary>
    public static Stream Open() => new FileStream(new SafeFileHandle(1, ownsHandle: false), FileAccess.Write, bufferSize: 0);

    /// <summary>Whether a write failed because nobody reads any more (.NET gives the errno as the HResult).</summary>
    public static bool ReaderGone(IOException e) => e.HResult == Epipe;
}
