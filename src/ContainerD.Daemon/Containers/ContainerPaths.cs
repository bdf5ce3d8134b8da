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
    /// <summary>An import's closure, checked whole before nix-store --import takes it.</summary>
    public string ImportClosureFile(string name) => Path.Combine(StateDir(name), "closure.import");
    /// <summary>An import's GC roots for its systems, until the profile holds them.</summary>
    public string ImportRootsDir(string name) => Path.Combine(StateDir(name), "import-roots");
    /// <summary>How the container's last job ended (first line) and its message (the rest).</summary>
    public string LastJobFile(string name) => Path.Combine(StateDir(name), "last-job");
    /// <summary>The definition each generation was built from: rollback brings it back with the generation.</summary>
    public string GenerationDefinitionFile(string name, int generation) =>
        Path.Combine(StateDir(name), "generations", generation.ToString(System.Globalization.CultureInfo.InvariantCulture) + ".yaml");
    public string Rootfs(string name) => Path.Combine(StateDir(name), "rootfs");
    /// <summary>What a restore or reset puts in place of the rootfs, filled before it is swapped in.</summary>
    public string RootfsReplacement(string name) => Path.Combine(StateDir(name), "rootfs.new");
    /// <summary>A restore's or reset's intent: what the rootfs becomes ("skeleton" or "snapshot NAME").</summary>
    public string RootfsSwapFile(string name) => Path.Combine(StateDir(name), "rootfs-swap");
    /// <summary>The daemon froze the container (for a snapshot's copy): a crash meanwhile is thawed at the next start.</summary>
    public string FrozenMarker(string name) => Path.Combine(StateDir(name), "frozen-for-snapshot");
    public string SnapshotsDir(string name) => Path.Combine(StateDir(name), "snapshots");
    public string SnapshotDir(string name, string snapshot) => Path.Combine(SnapshotsDir(name), snapshot);
    /// <summary>Written last: a snapshot dir without it is an interrupted snapshot.</summary>
    public string SnapshotFile(string name, string snapshot) => Path.Combine(SnapshotDir(name, snapshot), "snapshot.json");
    public string SnapshotRootfs(string name, string snapshot) => Path.Combine(SnapshotDir(name, snapshot), "rootfs");
    /// <summary>An indirect GC root: the system the snapshot ran stays in the store while the snapshot exists.</summary>
    public string SnapshotSystemLink(string name, string snapshot) => Path.Combine(SnapshotDir(name, snapshot), "system");
    public string ProfileDir(string name) => Path.Combine(config.ProfilesDir, name);
    /// <summary>The GC roots a container with nix.daemon makes (bound in at /nix/var/nix/gcroots/per-container/NAME).</summary>
    public string GcRootsDir(string name) => Path.Combine(config.GcRootsDir, name);
}
