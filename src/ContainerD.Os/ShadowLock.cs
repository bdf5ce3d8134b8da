using System.Globalization;
using Mono.Unix.Native;

namespace ContainerD.Os;

/// <summary>
/// shadow-utils' lock for a file such as /etc/subuid: FILE.PID holding the pid, hard-linked to
/// FILE.lock. link() is atomic, so only one of useradd, usermod and the daemon edits the file at once.
/// </summary>
public sealed class ShadowLock : IDisposable
{
    private readonly string _lockFile;

    private ShadowLock(string lockFile) => _lockFile = lockFile;

    public static ShadowLock Take(string file, TimeSpan? timeout = null)
    {
        string lockFile = file + ".lock";
        string mine = $"{file}.{Environment.ProcessId}";
        File.WriteAllText(mine, Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        try
        {
            var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(15));
            while (Syscall.link(mine, lockFile) != 0)
            {
                if (Stdlib.GetLastError() != Errno.EEXIST)
                {
                    throw new IOException($"cannot lock {file}: {Stdlib.GetLastError()}");
                }
                if (IsStale(lockFile))
                {
                    File.Delete(lockFile);
                    continue;
                }
                if (DateTime.UtcNow > deadline)
                {
                    throw new IOException($"{file} is locked by another program ({lockFile}); try again when it is done");
                }
                Thread.Sleep(50);
            }
            return new ShadowLock(lockFile);
        }
        finally
        {
            File.Delete(mine);
        }
    }

    /// <summary>A lock whose holder is gone (its pid no longer runs) can be broken, as shadow does.</summary>
    private static bool IsStale(string lockFile)
    {
        try
        {
            return !int.TryParse(File.ReadAllText(lockFile).Trim(), out int pid) || pid <= 0 || !Directory.Exists($"/proc/{pid}");
        }
        catch (FileNotFoundException)
        {
            return false;
        }
    }

    public void Dispose() => File.Delete(_lockFile);
}
