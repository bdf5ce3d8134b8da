using Microsoft.Win32.SafeHandles;

namespace ContainerD.Cli;

/// <summary>
/// stdout for commands that follow something until nobody reads: a write after the reader went
/// away (`containerctl events | head -3`) throws IOException (EPIPE). Console's own streams
/// swallow EPIPE, so a follower writing through them never learns that its reader is gone.
/// </summary>
public static class StandardOutput
{
    /// <summary>fd 1, unbuffered, left open when disposed.</summary>
    public static Stream Open() => new FileStream(new SafeFileHandle(1, ownsHandle: false), FileAccess.Write, bufferSize: 0);
}
