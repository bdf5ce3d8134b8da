using ContainerD.Daemon.Jobs;
using ContainerD.Domain;
using Microsoft.Extensions.Logging;

namespace ContainerD.Daemon.Operations;

/// <summary>
/// activate: a generation committed before a crash but never brought to its running container (the
/// crash fell between the new generation and the end of activation; state.json says activationPending), now.
/// </summary>
public sealed class ActivateOperation(OperationKit kit)
{
    public const string Name = "activate";

    /// <summary>
    /// Each pending activation as a job; a container that is not running just boots the generation at
    /// its next start — unless a change that restarts it (a restart activation, restart, restore,
    /// reset) had stopped it (restartPending): that one is started (an autostart one, autostart starts
    /// right after).
    /// </summary>
    public void ResumeInterrupted()
    {
        foreach (var container in kit.Registry.List().Where(c => c.State.ActivationPending || c.State.RestartPending))
        {
            if (container.RunState != ContainerState.Running && container.State.RestartPending && !container.Definition.Autostart)
            {
                ResumeRestart(container);
                continue;
            }
            if (container.RunState != ContainerState.Running || !container.State.ActivationPending)
            {
                if (container.State.ActivationPending)
                {
                    kit.Log.LogInformation("container {Name} is not running: it boots generation {Generation} at its next start", container.Name, container.State.Generation);
                }
                // Running and only restartPending: the daemon died after the start, before the job's end.
                kit.Profiles.ClearPending(container);
                continue;
            }
            try
            {
                kit.ForExisting(container.Name, Name, async (job, c) =>
                {
                    job.Log($"generation {c.State.Generation} of {c.Name} was committed before the daemon stopped but not activated; activating it now");
                    await kit.Profiles.ActivateAsync(job, c, c.State.SystemPath ?? "").ConfigureAwait(false);
                });
                kit.Log.LogWarning("container {Name}: activating generation {Generation}, committed before the daemon stopped but never activated",
                    container.Name, container.State.Generation);
            }
            catch (Domain.ContainerDException e)
            {
                kit.Log.LogWarning("container {Name}: generation {Generation} is not activated yet ({Message})", container.Name, container.State.Generation, e.Message);
            }
        }
    }

    /// <summary>The start a change that restarts the container (restartPending) did not get to.</summary>
    private void ResumeRestart(Containers.Container container)
    {
        try
        {
            kit.ForExisting(container.Name, Name, async (job, c) =>
            {
                job.Log($"{c.Name} was stopped for a change after which it runs again when the daemon stopped; starting it (generation {c.State.Generation})");
                try
                {
                    await kit.Runtime.StartAsync(job, c).ConfigureAwait(false);
                }
                finally
                {
                    kit.Profiles.ClearPending(c);
                }
            });
            kit.Log.LogWarning("container {Name}: starting it on generation {Generation}: a change that restarts it had stopped it when the daemon stopped",
                container.Name, container.State.Generation);
        }
        catch (Domain.ContainerDException e)
        {
            kit.Log.LogWarning("container {Name}: not started again after the change that restarts it ({Message})", container.Name, e.Message);
        }
    }
}
