using ContainerD.Domain.IdMapping;
using Mono.Unix.Native;

namespace ContainerD.Os;

/// <summary>
/// /etc/subuid and /etc/subgid. LXC maps ids through newuidmap, which refuses ranges root does not
/// own there, so the daemon makes sure root owns its pool — under shadow's lock, rewriting the file
/// atomically with every other line untouched. Paths are arguments so tests use temp files.
/// </summary>
public sealed class SubIdStore(string subUidFile, string subGidFile, string loginDefsFile = "/etc/login.defs")
{
    public static SubIdStore ForHost() => new("/etc/subuid", "/etc/subgid");

    private IEnumerable<string> Files => [subUidFile, subGidFile];

    /// <summary>"root" and "0" name the same owner in these files.</summary>
    private static IReadOnlySet<string> Aliases(string owner) =>
        (Syscall.getpwnam(owner) is { } user ? new HashSet<string> { owner, user.pw_uid.ToString(System.Globalization.CultureInfo.InvariantCulture) } : [owner]);

    public bool Covers(string owner, IdRange pool) => Files.All(file => Read(file).Covers(Aliases(owner), pool));

    /// <summary>Adds "owner:start:count" to each file whose entries do not cover the pool yet.</summary>
    public void EnsureOwned(string owner, IdRange pool)
    {
        foreach (string file in Files)
        {
            if (Read(file).Covers(Aliases(owner), pool))
            {
                continue;
            }
            using (ShadowLock.Take(file))
            {
                var current = Read(file);
                if (!current.Covers(Aliases(owner), pool))
                {
                    var mode = File.Exists(file) ? File.GetUnixFileMode(file)
                        : UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
                    AtomicFile.Write(file, current.WithEntry(owner, pool), mode);
                }
            }
        }
    }

    /// <summary>The owner's ranges in /etc/subuid (Uids) and /etc/subgid (Gids).</summary>
    public (IReadOnlyList<IdRange> Uids, IReadOnlyList<IdRange> Gids) OwnedBy(string owner)
    {
        var aliases = Aliases(owner);
        List<IdRange> Of(string file) => Read(file).Entries.Where(e => aliases.Contains(e.Owner)).Select(e => e.Range).ToList();
        return (Of(subUidFile), Of(subGidFile));
    }

    /// <summary>What useradd hands out to new users (/etc/login.defs).</summary>
    public LoginDefs UseraddRanges() => LoginDefs.Parse(File.Exists(loginDefsFile) ? File.ReadAllText(loginDefsFile) : "");

    /// <summary>Other owners' ranges in both files.</summary>
    public IReadOnlyList<(string Owner, IdRange Range)> ReadForeign(string owner) =>
        Files.SelectMany(file => Read(file).ForeignTo(Aliases(owner))).Distinct().ToList();

    private static SubIdFile Read(string file) => new(File.Exists(file) ? File.ReadAllText(file) : "");
}
