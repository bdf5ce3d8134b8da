using ContainerD.Os;
using ContainerD.Os.Filesystem;

namespace ContainerD.Daemon.Containers;

/// <summary>
/// Replacing a stopped container's writable root (restore, reset): the new root is made beside it
/// in rootfs.new, the two are exchanged in one step (renameat2), and the old one is deleted. The
/// intent, rootfs-swap, says what the root becomes and is written before anything: a crash at any
/// point is finished at the next start by doing the whole swap again, which ends where an
/// uninterrupted one would.
/// </summary>
public sealed class RootfsSwap(ContainerPaths paths)
{
    public const string Skeleton = "skeleton";
    private const string SnapshotPrefix = "snapshot ";

    public static string FromSnapshot(string snapshot) => SnapshotPrefix + snapshot;

    /// <summary>The snapshot an intent names, or null for the skeleton.</summary>
    public static string? SnapshotOf(string intent) => intent.StartsWith(SnapshotPrefix, StringComparison.Ordinal) ? intent[SnapshotPrefix.Length..] : null;

    public void WriteIntent(string name, string intent) => AtomicFile.Write(paths.RootfsSwapFile(name), intent + "\n", StateStore.FileMode);

    /// <summary>
    /// What an interrupted swap was to make of the root, or null when none was under way: what
    /// WriteIntent wrote, its newline off — never trimmed, so a name reads back as it was written.
    /// </summary>
    public string? ReadIntent(string name)
    {
        string file = paths.RootfsSwapFile(name);
        if (!File.Exists(file))
        {
            return null;
        }
        string text = File.ReadAllText(file);
        return text.EndsWith('\n') ? text[..^1] : text;
    }

    public void ClearIntent(string name)
    {
        File.Delete(paths.RootfsSwapFile(name));
        AtomicFile.SyncDirectory(paths.StateDir(name));
    }

    /// <summary>fill makes the new root at the path it is given; then it replaces the rootfs, and the old root is gone.</summary>
    public async Task ReplaceAsync(Container container, Func<string, Task> fill, Action? beforeExchange = null)
    {
        string rootfs = paths.Rootfs(container.Name), replacement = paths.RootfsReplacement(container.Name);
        // Never through a mount: a start the crash interrupted may have left the host's copies.
        HostMounts.Unmount(rootfs);
        if (Directory.Exists(replacement))
        {
            FileTree.Delete(replacement);
        }
        await fill(replacement).ConfigureAwait(false);
        beforeExchange?.Invoke();
        Rootfs.Exchange(rootfs, replacement);
        AtomicFile.SyncDirectory(paths.StateDir(container.Name));
        FileTree.Delete(replacement);
    }

    /// <summary>A copy made by no swap under way (a crash before the intent or after the end): removed.</summary>
    public void RemoveStaleReplacement(string name)
    {
        if (ReadIntent(name) is null && Directory.Exists(paths.RootfsReplacement(name)))
        {
            FileTree.Delete(paths.RootfsReplacement(name));
        }
    }
}
