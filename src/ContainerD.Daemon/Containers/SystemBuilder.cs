using ContainerD.Daemon.Jobs;
using ContainerD.Domain;
using ContainerD.Domain.Definitions;
using ContainerD.Os.Nix;

namespace ContainerD.Daemon.Containers;

/// <summary>A definition's system as a store path: built by Nix (a file or a flake), or prebuilt and checked.</summary>
public sealed class SystemBuilder(StateStore store, NixTool nix, MemberConfinement confinement)
{
    /// <summary>
    /// A prebuilt system that is not there is bad input: say so now, before anything is made — unless
    /// the config names binary caches, from which the job fetches it (signature checked).
    /// </summary>
    public void RequireStorePathExists(ContainerDefinition definition)
    {
        if (definition.System is StorePathSystem { Path: var path } && !Directory.Exists(path) && !nix.CanSubstitute)
        {
            throw new ContainerDException(ErrorKind.InvalidDefinition,
                $"system.path {path} does not exist: build the system or copy its closure into the store first (nix copy, nix-copy-closure), or name binary caches in the daemon's config (substituters, trustedPublicKeys)");
        }
    }

    /// <summary>
    /// The system when nothing has to be built or fetched for it (a prebuilt path and no binary
    /// caches): a profile can take it at once. Null when BuildAsync has work to do.
    /// </summary>
    public string? Ready(ContainerDefinition definition) =>
        definition.System is StorePathSystem { Path: var path } && !nix.CanSubstitute ? nix.CheckSystem(path) : null;

    /// <summary>The built system; the build-result link in the state dir roots it until the profile holds it.</summary>
    public async Task<string> BuildAsync(Job job, ContainerDefinition definition, Caller caller)
    {
        string buildLink = store.Paths.BuildLink(definition.Name);
        switch (definition.System)
        {
            case NixExpressionSystem expression:
                job.Log($"building the system from {expression.File}");
                return await nix.BuildAsync(expression, buildLink, job.Log, job.Canceled,
                    confinement.NixConfinementFor(caller, definition.Name)).ConfigureAwait(false);
            case FlakeSystem flake:
                job.Log($"building the system from the flake {flake.Reference}");
                return await nix.BuildFlakeAsync(flake, buildLink, job.Log, job.Canceled).ConfigureAwait(false);
            case StorePathSystem path:
                job.Log($"using the prebuilt system {path.Path}");
                return await nix.RealiseSystemAsync(path.Path, buildLink, job.Log, job.Canceled).ConfigureAwait(false);
            default:
                throw new InvalidOperationException($"unknown system source {definition.System}");
        }
    }
}
