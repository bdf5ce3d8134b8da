using ContainerD.Daemon.Jobs;
using ContainerD.Domain;
using ContainerD.Domain.Definitions;
using ContainerD.Domain.Lxc;
using ContainerD.Domain.Operations;
using ContainerD.Os.Lxc;
using ContainerD.Os.Nix;
using ContainerD.Os.Processes;
using Microsoft.Extensions.Logging;

namespace ContainerD.Daemon.Containers;

/// <summary>
/// What update, rollback and a resumed activation share about the system profile: recording the
/// profile's generation (its activation pending, persisted), bringing it to a running container,
/// and at start finishing what a crash left between the profile and that record.
/// </summary>
public sealed class ProfileSteps(StateStore store, LxcTool lxc, ContainerRegistry registry, ContainerRuntime runtime, ILogger<ProfileSteps> log)
{
    private const int ActivationLogLines = 500;
    private static readonly CommandLimits ActivationLimits = new(1 << 20, 1 << 20, 4096);

    private ContainerPaths Paths => store.Paths;

    /// <summary>
    /// Takes the profile's current generation and tells watchers; its activation is pending until
    /// ActivateAsync is through with it, which writes state.json once, then. Not written before:
    /// a crash in between leaves the profile ahead of state.json, and recovery records the
    /// generation and activates it (ReconcileInterrupted) — what a pending activation on disk would
    /// have brought about, for one fsync'd write less per update and rollback.
    /// </summary>
    public void CommitGeneration(Container container, int generation, string system, string? definitionHash)
    {
        var state = container.State with { Generation = generation, SystemPath = system, DefinitionHash = definitionHash, ActivationPending = true };
        container.SetState(state);
        runtime.WriteLxcConfig(container);
        registry.NotifyChanged(container);
    }

    /// <summary>Brings a new system to a running container, as its definition's activation says; then it is no longer pending.</summary>
    public async Task ActivateAsync(Job job, Container container, string system)
    {
        try
        {
            await ActivateCoreAsync(job, container, system).ConfigureAwait(false);
        }
        finally
        {
            ClearPending(container);
        }
    }

    /// <summary>An activation's job is over (or a stopped container needs none): nothing is pending.</summary>
    public void ClearPending(Container container) => Write(container, container.State with { ActivationPending = false, RestartPending = false });

    /// <summary>The generation needs no activation (the container is stopped: it boots it); a pending start stays.</summary>
    public void ClearActivationPending(Container container) => Write(container, container.State with { ActivationPending = false });

    /// <summary>
    /// On disk before a stop that a start must follow (a restart activation, restart, restore, reset):
    /// a daemon that dies in between does not leave the container stopped, the next daemon start
    /// starts it (ActivateOperation.ResumeInterrupted).
    /// </summary>
    public void MarkRestartPending(Container container) => Write(container, container.State with { RestartPending = true });

    public void ClearRestartPending(Container container) => Write(container, container.State with { RestartPending = false });

    private void Write(Container container, PersistedState state)
    {
        if (state != container.State)
        {
            store.Write(state);
            container.SetState(state);
        }
    }

    /// <summary>
    /// The profile is the truth about generations. A crash between the profile's new generation and the state write
    /// (update, rollback) left them apart: adopt the profile's generation and commit a pending
    /// definition; if the profile never moved, discard the pending definition.
    /// </summary>
    public PersistedState ReconcileInterrupted(PersistedState state)
    {
        string name = state.Name;
        int? profileGeneration = NixTool.CurrentGeneration(Paths.ProfileDir(name));
        File.Delete(Paths.BuildLink(name));
        if (profileGeneration is not { } generation || generation == state.Generation)
        {
            store.DiscardPendingDefinition(name);
            return state;
        }
        log.LogWarning("container {Name}: finishing an interrupted change to generation {Generation}", name, generation);
        string? yaml = store.CommitPendingDefinition(name) ? store.ReadDefinition(name) : null;
        if (yaml is null && store.ReadGenerationDefinition(name, generation) is { } kept)
        {
            // An interrupted rollback: the definition follows the generation.
            store.WriteDefinition(name, kept);
            yaml = kept;
        }
        else if (yaml is not null)
        {
            store.WriteGenerationDefinition(name, generation, yaml);
        }
        state = state with
        {
            Generation = generation,
            SystemPath = NixTool.CurrentSystem(Paths.ProfileDir(name)),
            DefinitionHash = yaml is null ? state.DefinitionHash : DefinitionHash.Of(yaml),
            // The change never reached its activation: the reconciler resumes it (ActivateOperation).
            ActivationPending = true,
        };
        store.Write(state);
        return state;
    }

    private async Task ActivateCoreAsync(Job job, Container container, string system)
    {
        await runtime.RefreshAsync(container).ConfigureAwait(false);
        if (container.RunState != ContainerState.Running)
        {
            job.Log($"{container.Name} is not running: it boots generation {container.State.Generation} at its next start");
            return;
        }
        string switchScript = Path.Combine(system, "bin", "switch-to-configuration");
        var activation = container.Definition.Activation switch
        {
            Activation.Auto => File.Exists(switchScript) ? Activation.Switch : Activation.Restart,
            var chosen => chosen,
        };
        switch (activation)
        {
            case Activation.None:
                job.Log($"activation: none; {container.Name} boots the new system at its next start");
                break;
            case Activation.Restart:
                job.Log($"activation: restarting {container.Name}");
                MarkRestartPending(container);
                await runtime.StopAsync(job, container, force: false).ConfigureAwait(false);
                FaultInjection.Before(CrashSteps.ActivateStart);
                await runtime.StartAsync(job, container).ConfigureAwait(false);
                break;
            case Activation.Switch:
                job.Log($"activation: switch-to-configuration switch inside {container.Name}");
                // Bounded whatever the new system prints: the head of stdout, the tail of stderr.
                registry.GetRunning(container.Name);
                var output = await lxc.AttachAsync(container.Name, ["/nix/var/nix/profiles/system/bin/switch-to-configuration", "switch"],
                    SessionService.InsideEnvironment("dumb", new Dictionary<string, string>()), ActivationLimits, job.Canceled).ConfigureAwait(false);
                var lines = (output.StdoutText + (output.StdoutCut ? "\n[stdout cut]\n" : "") + output.Stderr)
                    .Split('\n', StringSplitOptions.RemoveEmptyEntries);
                if (lines.Length > ActivationLogLines)
                {
                    job.Log($"[switch-to-configuration printed {lines.Length} lines; the last {ActivationLogLines} follow]");
                }
                foreach (string line in lines.TakeLast(ActivationLogLines))
                {
                    job.Log(line);
                }
                if (!output.Succeeded)
                {
                    throw new ContainerDException(ErrorKind.ActivationFailed,
                        $"switch-to-configuration failed in '{container.Name}' (exit {output.ExitCode}); it keeps running: {output.StderrTail(5)}");
                }
                break;
        }
    }
}
