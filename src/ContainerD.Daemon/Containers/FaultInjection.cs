using System.Diagnostics;
using ContainerD.Domain.Operations;

namespace ContainerD.Daemon.Containers;

/// <summary>
/// For crash-safety tests only: CONTAINERCTLD_CRASH_AT=create:build makes the daemon SIGKILL
/// itself right before that step (a row of CrashSteps), so tests can prove the next start
/// finishes or rolls back.
/// </summary>
public static class FaultInjection
{
    private static readonly string? CrashAt = Environment.GetEnvironmentVariable("CONTAINERCTLD_CRASH_AT");

    public static void Before(CrashStep step)
    {
        if (CrashAt is not null && CrashAt == step.Id)
        {
            Console.Error.WriteLine($"containerctld: fault injection: killing myself before {step.Operation} step {step.Name}");
            Process.GetCurrentProcess().Kill();
            Thread.Sleep(Timeout.Infinite);
        }
    }
}
