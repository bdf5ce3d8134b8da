using ContainerD.Domain;
using ContainerD.Domain.Configuration;
using ContainerD.Domain.Definitions;
using ContainerD.Os;
using ContainerD.Os.Nix;

namespace ContainerD.Daemon.Containers;

/// <summary>
/// What a definition from a member of the admin group (not root) may ask for: bind sources only
/// under bindSourceRoots, through root's directories, never idmapped; no flakes; its Nix file read
/// with the member's rights and evaluated in restricted mode.
/// </summary>
public sealed class MemberConfinement(DaemonConfig config)
{
    public void RequireConfined(ContainerDefinition definition, Caller caller)
    {
        if (caller.IsRoot)
        {
            return;
        }
        if (definition.System is FlakeSystem)
        {
            // Nix copies a local flake's whole directory into the world-readable store, as root.
            throw new ContainerDException(ErrorKind.AccessDenied,
                $"container '{definition.Name}': flake systems are for root only (Nix copies the flake's directory into the store as root); a member may give system.nix or system.path");
        }
        RequireConfinedMounts(definition, ErrorKind.AccessDenied);
    }

    public void RequireConfinedMounts(ContainerDefinition definition, ErrorKind kind)
    {
        var problems = definition.BindMounts.Select(m => Confinement.Problem(m, config.BindSourceRoots.Paths)).OfType<string>().ToList();
        if (problems.Count > 0)
        {
            throw new ContainerDException(kind, $"container '{definition.Name}' (a definition from a member of group '{config.AdminGroup}', not root): {string.Join("; ", problems)}");
        }
    }

    /// <summary>For a caller other than root: its Nix file is read with its rights and evaluated in restricted mode.</summary>
    public NixConfinement? NixConfinementFor(Caller caller, string name) =>
        caller.IsRoot ? null : new NixConfinement(caller.Uid, Path.Combine(config.StateDir, "eval", $"{name}-{Guid.NewGuid():N}"));
}
