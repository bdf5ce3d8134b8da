using System.Diagnostics;

namespace ContainerD.Daemon.Containers;

/// <summary>
/// For crash-safety tests only: CONTAINERCTLD_CRASH_AT=create:3 makes the daemon SIGKILL itself
/// right before step 3 of create, so tests can prove the next start finishes or rolls back.
/// </summary>
public static class FaultInjection
{
    private static readonly string? CrashAt = Environment.GetEnvironmentVariable("CONTAINERCTLD_CRASH_AT");

    public static void Step(string operation, int step)
    {
        if (CrashAt is not null && CrashAt == $"{operation}:{step}")
        {
            Console.Error.WriteLine($"containerctld: fault injection: killing myself before {operation} step {step}");
            Process.GetCurrentProcess().Kill();
            Thread.Sleep(Timeout.Infinite);
        }
    }
}
