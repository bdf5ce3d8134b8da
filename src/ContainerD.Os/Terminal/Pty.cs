using System.ComponentModel;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace ContainerD.Os.Terminal;

/// <summary>
/// A pseudo-terminal with a process on its slave side, as machined's OpenMachineShell makes one:
/// the caller gets the master fd, the process (e.g. lxc-attach) gets the terminal as its
/// controlling tty and stdio. .NET's Process cannot hand a child an arbitrary fd, so this uses
/// posix_spawn directly; argv is an array, never a shell string.
/// </summary>
public static partial class Pty
{
    private const int ORdwr = 0x2, ONoctty = 0x100, OCloexec = 0x80000;

    /// <summary>Opens a new pty; the master is close-on-exec so no child inherits it.</summary>
    public static (SafeFileHandle Master, SafeFileHandle Slave) Open()
    {
        var master = new SafeFileHandle(Check(posix_openpt(ORdwr | ONoctty | OCloexec), "posix_openpt"), ownsHandle: true);
        try
        {
            Check(grantpt(master), "grantpt");
            Check(unlockpt(master), "unlockpt");
            var name = new byte[128];
            int error = ptsname_r(master, name, name.Length);
            if (error != 0)
            {
                throw new Win32Exception(error, "ptsname_r");
            }
            string slavePath = System.Text.Encoding.UTF8.GetString(name, 0, Array.IndexOf(name, (byte)0));
            var slave = new SafeFileHandle(Check(open(slavePath, ORdwr | ONoctty | OCloexec), "open " + slavePath), ownsHandle: true);
            return (master, slave);
        }
        catch
        {
            master.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Starts argv (searched on PATH) with the slave as its stdin, stdout and stderr and env as its
    /// whole environment; returns its pid. The child is the caller's to reap (WaitForExitAsync).
    /// </summary>
    public static int Spawn(IReadOnlyList<string> argv, IReadOnlyDictionary<string, string> env, SafeFileHandle slave)
    {
        ArgumentOutOfRangeException.ThrowIfZero(argv.Count);
        // posix_spawn_file_actions_t is 80 bytes in glibc; room to spare.
        IntPtr actions = Marshal.AllocHGlobal(256);
        var strings = new List<IntPtr>();
        try
        {
            Check(posix_spawn_file_actions_init(actions), "posix_spawn_file_actions_init");
            try
            {
                int fd = (int)slave.DangerousGetHandle();
                for (int target = 0; target <= 2; target++)
                {
                    // dup2 clears close-on-exec on the copy: stdio survive the exec, the slave fd itself does not.
                    Check(posix_spawn_file_actions_adddup2(actions, fd, target), "posix_spawn_file_actions_adddup2");
                }
                IntPtr[] argvPointers = NullTerminated(argv, strings);
                IntPtr[] envPointers = NullTerminated(env.Select(e => $"{e.Key}={e.Value}").ToList(), strings);
                int error = posix_spawnp(out int pid, argv[0], actions, IntPtr.Zero, argvPointers, envPointers);
                if (error != 0)
                {
                    throw new Win32Exception(error, $"cannot start {argv[0]}");
                }
                return pid;
            }
            finally
            {
                posix_spawn_file_actions_destroy(actions);
            }
        }
        finally
        {
            strings.ForEach(Marshal.FreeCoTaskMem);
            Marshal.FreeHGlobal(actions);
        }
    }

    /// <summary>Waits for a child started by Spawn and reaps it; returns its exit status (128+N for signal N).</summary>
    public static Task<int> WaitForExitAsync(int pid) => Task.Factory.StartNew(() =>
    {
        int status;
        while (waitpid(pid, out status, 0) < 0)
        {
            if (Marshal.GetLastPInvokeError() != 4) // EINTR
            {
                return -1;
            }
        }
        int signal = status & 0x7f;
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal;
    }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private static IntPtr[] NullTerminated(IReadOnlyList<string> values, List<IntPtr> allocated)
    {
        var pointers = new IntPtr[values.Count + 1];
        for (int i = 0; i < values.Count; i++)
        {
            pointers[i] = Marshal.StringToCoTaskMemUTF8(values[i]);
            allocated.Add(pointers[i]);
        }
        return pointers;
    }

    private static int Check(int result, string call) =>
        result >= 0 ? result : throw new Win32Exception(Marshal.GetLastPInvokeError(), call);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int posix_openpt(int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int grantpt(SafeFileHandle fd);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int unlockpt(SafeFileHandle fd);

    [LibraryImport("libc")]
    private static partial int ptsname_r(SafeFileHandle fd, [Out] byte[] buffer, nint length);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags);

    [LibraryImport("libc")]
    private static partial int posix_spawn_file_actions_init(IntPtr actions);

    [LibraryImport("libc")]
    private static partial int posix_spawn_file_actions_adddup2(IntPtr actions, int fd, int newFd);

    [LibraryImport("libc")]
    private static partial int posix_spawn_file_actions_destroy(IntPtr actions);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int posix_spawnp(out int pid, string file, IntPtr actions, IntPtr attributes, IntPtr[] argv, IntPtr[] envp);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int waitpid(int pid, out int status, int options);
}
