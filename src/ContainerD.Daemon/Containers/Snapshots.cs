using System.Text.Json;
using System.Text.Json.Serialization;
using ContainerD.Domain;
using ContainerD.Os;
using ContainerD.Os.Filesystem;

namespace ContainerD.Daemon.Containers;

/// <summary>A snapshot: the container's writable root as it was, and the generation it ran (snapshot.json).</summary>
public sealed record SnapshotInfo
{
    public required string Name { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public required int Generation { get; init; }
    public required string SystemPath { get; init; }
    /// <summary>The definition that generation was built from.</summary>
    public required string Definition { get; init; }
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, WriteIndented = true)]
[JsonSerializable(typeof(SnapshotInfo))]
public sealed partial class SnapshotInfoJson : JsonSerializerContext;

/// <summary>
/// A container's snapshots, below its state dir (so destroy takes them along): snapshots/NAME/ with
/// rootfs/ (the copy, the container root's own), system (a GC root) and snapshot.json, written
/// last. Every dir is root's with the container root's group and 0710, as the state dir is: the copy
/// is made as the container's root, which must get through; no other host user can.
/// </summary>
public sealed class Snapshots(ContainerPaths paths)
{
    public IReadOnlyList<SnapshotInfo> List(string name)
    {
        string dir = paths.SnapshotsDir(name);
        if (!Directory.Exists(dir))
        {
            return [];
        }
        return Directory.EnumerateDirectories(dir).Select(Path.GetFileName).OfType<string>()
            .Where(s => File.Exists(paths.SnapshotFile(name, s)))
            .Select(s => Read(name, s))
            .OrderBy(s => s.CreatedAt).ThenBy(s => s.Name, StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>The snapshot of that name, or NoSuchSnapshot naming those there are.</summary>
    public SnapshotInfo Get(string name, string snapshot)
    {
        SnapshotName.Require(snapshot);
        if (!File.Exists(paths.SnapshotFile(name, snapshot)))
        {
            var names = List(name).Select(s => s.Name).ToList();
            throw new ContainerDException(ErrorKind.NoSuchSnapshot, names.Count == 0
                ? $"container '{name}' has no snapshots; take one with 'containerctl snapshot {name}'"
                : $"container '{name}' has no snapshot '{snapshot}'; it has {string.Join(", ", names)}");
        }
        return Read(name, snapshot);
    }

    public bool Exists(string name, string snapshot) => Directory.Exists(paths.SnapshotDir(name, snapshot));

    /// <summary>The empty snapshot dir and its rootfs (the container root's, for the copy to fill); returns the rootfs.</summary>
    public string Prepare(string name, string snapshot, long containerRoot)
    {
        foreach (string dir in new[] { paths.SnapshotsDir(name), paths.SnapshotDir(name, snapshot) })
        {
            Directory.CreateDirectory(dir);
            Rootfs.Enclose(dir, containerRoot);
        }
        string rootfs = paths.SnapshotRootfs(name, snapshot);
        Directory.CreateDirectory(rootfs);
        Rootfs.Chown(rootfs, containerRoot);
        return rootfs;
    }

    /// <summary>The snapshot exists from here on.</summary>
    public void Commit(string name, SnapshotInfo info) =>
        AtomicFile.Write(paths.SnapshotFile(name, info.Name), JsonSerializer.Serialize(info, SnapshotInfoJson.Default.SnapshotInfo) + "\n", StateStore.FileMode);

    public void Delete(string name, string snapshot) => FileTree.Delete(paths.SnapshotDir(name, snapshot));

    /// <summary>Snapshot dirs an interrupted snapshot left (no snapshot.json): removed. Returns their names.</summary>
    public IReadOnlyList<string> RemoveInterrupted(string name)
    {
        string dir = paths.SnapshotsDir(name);
        if (!Directory.Exists(dir))
        {
            return [];
        }
        var partial = Directory.EnumerateDirectories(dir).Select(Path.GetFileName).OfType<string>()
            .Where(s => !File.Exists(paths.SnapshotFile(name, s))).ToList();
        foreach (string snapshot in partial)
        {
            Delete(name, snapshot);
        }
        return partial;
    }

    private SnapshotInfo Read(string name, string snapshot) =>
        JsonSerializer.Deserialize(File.ReadAllText(paths.SnapshotFile(name, snapshot)), SnapshotInfoJson.Default.SnapshotInfo)
        ?? throw new ContainerDException(ErrorKind.Failed, $"{paths.SnapshotFile(name, snapshot)} is empty");
}
