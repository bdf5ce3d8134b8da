namespace ContainerD.Domain.Operations;

/// <summary>What the next daemon start makes of a crash right before a step.</summary>
public enum CrashOutcome
{
    /// <summary>Nothing of the change was persisted: the container is as it was (or never was).</summary>
    Untouched,

    /// <summary>The change's intent is on disk and incomplete: recovery undoes it.</summary>
    RolledBack,

    /// <summary>The change had passed its point of no return: recovery completes it.</summary>
    Finished,
}

/// <summary>
/// A point inside a multi-step change where a crash is survivable: what is on disk by then, and
/// what recovery (Daemon.Startup.Recovery, through the operation that owns the intent) does with it. CONTAINERCTLD_CRASH_AT=Id makes the
/// daemon SIGKILL itself right before the step (FaultInjection), and the crash-safety tests run
/// every row.
/// </summary>
public sealed record CrashStep(string Operation, string Name, string PersistedBefore, string Recovery, CrashOutcome Outcome)
{
    /// <summary>How CONTAINERCTLD_CRASH_AT names it, e.g. create:build.</summary>
    public string Id => $"{Operation}:{Name}";

    public override string ToString() => Id;
}

/// <summary>
/// The one table of crash steps, per operation in the order they run. A new step in an operation
/// is a new row here and a FaultInjection.Before(row) where it runs; its crash test comes with the row.
/// </summary>
public static class CrashSteps
{
    private const string CreateRollback = "phase: creating: everything of the name is removed, its name and range are free";

    public static readonly CrashStep CreateWriteState = new("create", "write-state",
        "the state dir (the name and range are held in memory only); from a prebuilt system, the profile's generation 1 under way (Nix asked to hold the path, then its links written while the intent is)",
        "no state.json: everything of the name is removed (the dir, a profile already made), its name and range are free", CrashOutcome.RolledBack);
    public static readonly CrashStep CreateWriteDefinition = new("create", "write-definition",
        "+ state.json with phase: creating", CreateRollback, CrashOutcome.RolledBack);
    public static readonly CrashStep CreateBuild = new("create", "build",
        "+ container.yaml", CreateRollback, CrashOutcome.RolledBack);
    public static readonly CrashStep CreateSetProfile = new("create", "set-profile",
        "+ the build-result link (the built system, a GC root)", CreateRollback, CrashOutcome.RolledBack);
    public static readonly CrashStep CreateMakeRootfs = new("create", "make-rootfs",
        "+ the profile's generation 1 under way (made beside the rootfs, the LXC config and generation 1's definition)", CreateRollback, CrashOutcome.RolledBack);
    public static readonly CrashStep CreateWriteLxcConfig = new("create", "write-lxc-config",
        "+ the rootfs", CreateRollback, CrashOutcome.RolledBack);
    public static readonly CrashStep CreateMarkReady = new("create", "mark-ready",
        "+ the LXC config and mount plan, the profile's generation 1 and its definition", CreateRollback, CrashOutcome.RolledBack);

    public static readonly CrashStep DestroyMarkDestroying = new("destroy", "mark-destroying",
        "nothing new: the container is whole", "loads it as it was", CrashOutcome.Untouched);
    public static readonly CrashStep DestroyStop = new("destroy", "stop",
        "state.json with phase: destroying", "phase: destroying: the container is killed (not asked to power off) and removed", CrashOutcome.Finished);
    public static readonly CrashStep DestroyDeleteLxcDir = new("destroy", "delete-lxc-dir",
        "+ stopped, its network and host-side mounts gone", "phase: destroying: the rest is removed", CrashOutcome.Finished);
    public static readonly CrashStep DestroyDeleteProfile = new("destroy", "delete-profile",
        "+ the LXC dir gone", "phase: destroying: the rest is removed", CrashOutcome.Finished);
    public static readonly CrashStep DestroyDeleteStateDir = new("destroy", "delete-state-dir",
        "+ the profile gone", "phase: destroying: the state dir is removed and the range freed", CrashOutcome.Finished);

    public static readonly CrashStep UpdateWritePending = new("update", "write-pending",
        "the new system built (the build-result link)", "the link is deleted; the generation and definition stay as they were", CrashOutcome.RolledBack);
    public static readonly CrashStep UpdateSetProfile = new("update", "set-profile",
        "+ container.yaml.pending", "the profile did not move: the pending definition is discarded", CrashOutcome.RolledBack);
    public static readonly CrashStep UpdateRecordGeneration = new("update", "record-generation",
        "+ the profile's new generation (nix-env committed it)",
        "the profile moved: the pending definition is committed, the generation recorded and activated in a running container", CrashOutcome.Finished);

    public static readonly CrashStep RollbackSwitchGeneration = new("rollback", "switch-generation",
        "nothing", "nothing to do", CrashOutcome.Untouched);
    public static readonly CrashStep RollbackRecordGeneration = new("rollback", "record-generation",
        "the profile switched to the older generation",
        "the profile moved: the definition follows the generation, which is recorded and activated in a running container", CrashOutcome.Finished);

    // Inside update's, rollback's and a resumed activation's job alike, where `activation: restart` (or auto, without
    // switch-to-configuration) brings the new generation to a running container.
    public static readonly CrashStep ActivateStart = new("activate", "start",
        "the new generation recorded in state.json with restartPending (the container was running), then the container stopped",
        "restartPending: the container is started, on the new generation", CrashOutcome.Finished);

    // Inside every start of a container with a veth network (start, restart, autostart, …): lxc-start has returned.
    public static readonly CrashStep StartNetwork = new("start", "network",
        "network-pending in the LXC dir, then the container booted by lxc-start; its host end (address, link) and port forwards not made yet",
        "network-pending: a running container's host end and port forwards are made; a stopped one's torn down", CrashOutcome.Finished);

    // Restart, and a restore's or reset's start of a container that was running before it.
    public static readonly CrashStep RestartStart = new("restart", "start",
        "restartPending in state.json (the container was running), then the container stopped",
        "restartPending: the container is started", CrashOutcome.Finished);

    private const string SwapFinished = "rootfs-swap names what the root becomes: recovery does the whole swap again (a copy into rootfs.new, the exchange, the generation), which ends where the uninterrupted one would";

    public static readonly CrashStep SnapshotCopyRootfs = new("snapshot", "copy-rootfs",
        "the empty snapshot dir (no snapshot.json); a running container frozen, frozen-for-snapshot beside it",
        "the partial snapshot dir is removed; a container the snapshot froze is thawed", CrashOutcome.Untouched);
    public static readonly CrashStep SnapshotCommit = new("snapshot", "commit",
        "+ the copied root and the system's GC root", "the partial snapshot dir (no snapshot.json) is removed", CrashOutcome.Untouched);

    public static readonly CrashStep RestoreWriteIntent = new("restore", "write-intent",
        "nothing: the container is as it was (stopped)", "nothing to do", CrashOutcome.Untouched);
    public static readonly CrashStep RestoreCopyRootfs = new("restore", "copy-rootfs",
        "rootfs-swap: snapshot SNAP", SwapFinished, CrashOutcome.Finished);
    public static readonly CrashStep RestoreSwapRootfs = new("restore", "swap-rootfs",
        "+ the snapshot's root copied into rootfs.new", SwapFinished, CrashOutcome.Finished);
    public static readonly CrashStep RestoreSetGeneration = new("restore", "set-generation",
        "+ rootfs and rootfs.new exchanged", SwapFinished, CrashOutcome.Finished);

    public static readonly CrashStep ResetWriteIntent = new("reset", "write-intent",
        "nothing: the container is as it was (stopped)", "nothing to do", CrashOutcome.Untouched);
    public static readonly CrashStep ResetSwapRootfs = new("reset", "swap-rootfs",
        "rootfs-swap: skeleton, and the skeleton in rootfs.new", SwapFinished, CrashOutcome.Finished);

    private const string ImportRollback = "phase: creating (as a create's): everything of the name is removed, its name and range are free; imported store paths are garbage for the next GC";

    public static readonly CrashStep ImportWriteState = new("import", "write-state",
        "nothing: the manifest was read, the name and range are held in memory only", "nothing to find (an empty state dir is removed)", CrashOutcome.Untouched);
    public static readonly CrashStep ImportUnpackRootfs = new("import", "unpack-rootfs",
        "the state dir, state.json with phase: creating, the definitions", ImportRollback, CrashOutcome.RolledBack);
    public static readonly CrashStep ImportImportClosure = new("import", "import-closure",
        "+ the root unpacked, the closure checked in closure.import, the end of the archive read", ImportRollback, CrashOutcome.RolledBack);
    public static readonly CrashStep ImportSetProfile = new("import", "set-profile",
        "+ the closure in the store, GC roots for its systems in the state dir", ImportRollback, CrashOutcome.RolledBack);
    public static readonly CrashStep ImportMarkReady = new("import", "mark-ready",
        "+ the profile's generations, the LXC config and mount plan", ImportRollback, CrashOutcome.RolledBack);

    /// <summary>Every row, per operation in the order its steps run.</summary>
    public static IReadOnlyList<CrashStep> All { get; } =
    [
        CreateWriteState, CreateWriteDefinition, CreateBuild, CreateSetProfile, CreateMakeRootfs, CreateWriteLxcConfig, CreateMarkReady,
        DestroyMarkDestroying, DestroyStop, DestroyDeleteLxcDir, DestroyDeleteProfile, DestroyDeleteStateDir,
        UpdateWritePending, UpdateSetProfile, UpdateRecordGeneration,
        RollbackSwitchGeneration, RollbackRecordGeneration,
        ActivateStart,
        StartNetwork,
        RestartStart,
        SnapshotCopyRootfs, SnapshotCommit,
        RestoreWriteIntent, RestoreCopyRootfs, RestoreSwapRootfs, RestoreSetGeneration,
        ResetWriteIntent, ResetSwapRootfs,
        ImportWriteState, ImportUnpackRootfs, ImportImportClosure, ImportSetProfile, ImportMarkReady,
    ];

    /// <summary>The rows of one operation, in order.</summary>
    public static IEnumerable<CrashStep> Of(string operation) => All.Where(s => s.Operation == operation);

    /// <summary>A row by its Id, or null.</summary>
    public static CrashStep? Find(string id) => All.FirstOrDefault(s => s.Id == id);
}
