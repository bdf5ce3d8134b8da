using ContainerD.Domain.Configuration;

namespace ContainerD.Daemon.Containers;

/// <summary>Where each piece of a container lives on the host; named once, here.</summary>
public sealed class ContainerPaths(DaemonConfig config)
{
    public string ContainersDir { get; } = config.ContainersDir;
    public string StateDir(string name) => Path.Combine(ContainersDir, name);
    public string StateFile(string name) => Path.Combine(StateDir(name), "state.json");
    /// <summary>Destroy began (an empty file: it needs no free block).</summary>
    public string DestroyMarker(string name) => Path.Combine(StateDir(name), "destroying");
    /// <summary>The definition of an imperatively created container (declarative ones stay in DefinitionsDir).</summary>
    public string DefinitionFile(string name) => Path.Combine(StateDir(name), "container.yaml");
    /// <summary>An update's new definition, until its generation is committed (crash safety).</summary>
    public string PendingDefinitionFile(string name) => DefinitionFile(name) + ".pending";
    public string DeclarativeFile(string name) => Path.Combine(config.DefinitionsDir, name + ".yaml");
    /// <summary>nix-build's out-link: a GC root for a new system until the profile holds it.</summary>
    public string BuildLink(string name) => Path.Combine(StateDir(name), "build-result");
    /// <summary>How the container's last job ended (first line) and its message (the rest).</summary>
    public string LastJobFile(string name) => Path.Combine(StateDir(name), "last-job");
    /// <summary>The definition each generation was built from: rollback brings it back with the generation.</summary>
    public string GenerationDefinitionFile(string name, int generation) =>
        Path.Combine(StateDir(name), "generations", generation.ToString(System.Globalization.CultureInfo.InvariantCulture) + ".yaml");
    public string Rootfs(string name) => Path.Combine(StateDir(name), "rootfs");
    public string ProfileDir(string name) => Path.Combine(config.ProfilesDir, name);
    /// <summary>The GC roots a container with nix.daemon makes (bound in at /nix/var/nix/gcroots/per-container/NAME).</summary>
    public string GcRootsDir(string name) => Path.Combine(config.GcRootsDir, name);
}
