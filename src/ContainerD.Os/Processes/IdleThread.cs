using System.Runtime.InteropServices;

namespace ContainerD.Os.Processes;

/// <summary>
/// A background thread that yields to everything else: nice 19 and the idle I/O class (Linux
/// schedules both per thread). For work nobody waits on, such as measuring a container's root on
/// disk, so that it never takes CPU or disk time from the daemon's calls or from the containers.
/// </summary>
public static partial class IdleThread
{
    private const int PrioProcess = 0, IoprioWhoProcess = 1, IoprioClassIdle = 3, IoprioClassShift = 13;

    public static Thread Start(string name, Action body)
    {
        var thread = new Thread(() =>
        {
            int tid = gettid();
            // Best effort: a thread that cannot lower itself still works, only less politely.
            _ = setpriority(PrioProcess, (uint)tid, 19);
            if (IoprioSet is { } number)
            {
                _ = syscall(number, IoprioWhoProcess, tid, IoprioClassIdle << IoprioClassShift);
            }
            body();
        })
        { IsBackground = true, Name = name };
        thread.Start();
        return thread;
    }

    /// <summary>ioprio_set has no glibc wrapper; its number differs by architecture.</summary>
    private static long? IoprioSet => RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => 251,
        Architecture.Arm64 => 30,
        _ => null,
    };

    [LibraryImport("libc")]
    private static partial int gettid();

    [LibraryImport("libc")]
    private static partial int setpriority(int which, uint who, int priority);

    [LibraryImport("libc")]
    private static partial long syscall(long number, long a1, long a2, long a3);
}
