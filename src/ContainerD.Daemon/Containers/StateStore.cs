using System.Text.Json;
using ContainerD.Os;
using ContainerD.Os.Filesystem;

namespace ContainerD.Daemon.Containers;

/// <summary>
/// state.json and container.yaml of each container. Every write is atomic (temp, fsync, rename,
/// fsync dir), so a crash leaves the old or the new file, never half of one.
/// </summary>
public sealed class StateStore(ContainerPaths paths)
{
    /// <summary>
    /// 0711 rather than 0700: LXC enters the rootfs as the container's root (an unprivileged
    /// host uid), which must traverse the directories above it. Nobody else can list them.
    /// </summary>
    public const UnixFileMode DirMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
    public const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    public ContainerPaths Paths { get; } = paths;

    public void EnsureRoot(string stateDir)
    {
        foreach (string dir in new[] { stateDir, Paths.ContainersDir })
        {
            Directory.CreateDirectory(dir);
            File.SetUnixFileMode(dir, DirMode);
        }
    }

    public void CreateStateDir(string name)
    {
        Directory.CreateDirectory(Paths.StateDir(name));
        File.SetUnixFileMode(Paths.StateDir(name), DirMode);
    }

    public void Write(PersistedState state) =>
        AtomicFile.Write(Paths.StateFile(state.Name), JsonSerializer.Serialize(state, PersistedStateJson.Default.PersistedState) + "\n", FileMode);

    public void WriteDefinition(string name, string yaml) => AtomicFile.Write(Paths.DefinitionFile(name), yaml, FileMode);

    public void WritePendingDefinition(string name, string yaml) => AtomicFile.Write(Paths.PendingDefinitionFile(name), yaml, FileMode);

    /// <summary>Keeps the definition a generation was built from (atomic; the generations dir is made on first use).</summary>
    public void WriteGenerationDefinition(string name, int generation, string yaml)
    {
        string file = Paths.GenerationDefinitionFile(name, generation);
        string dir = Path.GetDirectoryName(file)!;
        if (!Directory.Exists(dir))
        {
            Directory.CreateDirectory(dir);
            File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        AtomicFile.Write(file, yaml, FileMode);
    }

    public void DeleteGenerationDefinition(string name, int generation) => File.Delete(Paths.GenerationDefinitionFile(name, generation));

    /// <summary>The definition generation N was built from, or null (a generation made before definitions were kept).</summary>
    public string? ReadGenerationDefinition(string name, int generation)
    {
        string file = Paths.GenerationDefinitionFile(name, generation);
        return File.Exists(file) ? File.ReadAllText(file) : null;
    }

    /// <summary>Deletes the kept definitions of generations that are gone.</summary>
    public void PruneGenerationDefinitions(string name, IReadOnlySet<int> keep)
    {
        string dir = Path.GetDirectoryName(Paths.GenerationDefinitionFile(name, 1))!;
        if (!Directory.Exists(dir))
        {
            return;
        }
        foreach (string file in Directory.EnumerateFiles(dir, "*.yaml"))
        {
            if (int.TryParse(Path.GetFileNameWithoutExtension(file), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int n)
                && !keep.Contains(n))
            {
                File.Delete(file);
            }
        }
    }

    /// <summary>
    /// Records how the last job ended; a failure to write is the caller's to log. Not fsync'd: it is
    /// written before JobRemoved goes out, on every job, and is only a record (a power loss may lose it).
    /// </summary>
    public void WriteLastJob(string name, string summary, string message) =>
        AtomicFile.Write(Paths.LastJobFile(name), summary + "\n" + message, FileMode, durable: false);

    public (string Summary, string Message) ReadLastJob(string name)
    {
        string file = Paths.LastJobFile(name);
        if (!File.Exists(file))
        {
            return ("", "");
        }
        string text = File.ReadAllText(file);
        int newline = text.IndexOf('\n');
        return newline < 0 ? (text, "") : (text[..newline], text[(newline + 1)..]);
    }

    /// <summary>Makes a pending definition the definition (rename: atomic). False when there is none.</summary>
    public bool CommitPendingDefinition(string name)
    {
        if (!File.Exists(Paths.PendingDefinitionFile(name)))
        {
            return false;
        }
        File.Move(Paths.PendingDefinitionFile(name), Paths.DefinitionFile(name), overwrite: true);
        return true;
    }

    public void DiscardPendingDefinition(string name) => File.Delete(Paths.PendingDefinitionFile(name));

    /// <summary>
    /// The intent to destroy, written so that a full disk cannot refuse it — a container may have
    /// filled the disk on purpose: an empty file takes an inode and no data block, where a new
    /// state.json needs blocks. Read turns it into Phase.Destroying.
    /// </summary>
    public void MarkDestroying(string name)
    {
        File.OpenHandle(Paths.DestroyMarker(name), System.IO.FileMode.OpenOrCreate, FileAccess.Write).Dispose();
        AtomicFile.SyncDirectory(Paths.StateDir(name));
    }

    /// <summary>The state of a container dir, or null when state.json is missing (a create that never got going).</summary>
    public PersistedState? Read(string name)
    {
        string file = Paths.StateFile(name);
        var state = File.Exists(file) ? JsonSerializer.Deserialize(File.ReadAllText(file), PersistedStateJson.Default.PersistedState) : null;
        return state is not null && File.Exists(Paths.DestroyMarker(name)) ? state with { Phase = Phase.Destroying } : state;
    }

    /// <summary>The definition last applied to the container (for declarative ones too: their file may have moved on).</summary>
    public string? ReadDefinition(string name)
    {
        string file = Paths.DefinitionFile(name);
        return File.Exists(file) ? File.ReadAllText(file) : null;
    }

    /// <summary>Names of all container state dirs.</summary>
    public IReadOnlyList<string> Names() =>
        Directory.Exists(Paths.ContainersDir)
            ? Directory.EnumerateDirectories(Paths.ContainersDir).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToList()
            : [];

    /// <summary>Removes the state dir (and the rootfs in it). The last step of destroy: the range stays taken until then.</summary>
    public void DeleteStateDir(string name)
    {
        // By descriptor: the rootfs in it is the container's, with any names and any depth it likes.
        FileTree.Delete(Paths.StateDir(name));
    }
}
