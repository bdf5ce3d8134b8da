using System.Globalization;
using System.Text;
using ContainerD.Domain.Definitions;
using ContainerD.Domain.IdMapping;

namespace ContainerD.Domain.Lxc;

/// <summary>Whether a host-side mount shows host owners through the container's range.</summary>
public enum MountIdmap
{
    /// <summary>Files keep their host owners: a host uid outside the range shows as nobody inside.</summary>
    None,
    /// <summary>Idmapped where the host can; else the plain mount, read-only all the same (the store).</summary>
    Preferred,
    /// <summary>Idmapped, or the start fails (idmapped: true).</summary>
    Required,
}

/// <summary>
/// One mount the daemon makes on the host under the rootfs before lxc-start. Target is the path
/// inside the container. A created source belongs to SourceOwner (a host uid) or, when null, to host root.
/// </summary>
public sealed record HostMount(string Source, string Target, bool ReadOnly, MountIdmap Idmap, bool CreateSource = false, long? SourceOwner = null);

/// <summary>
/// The mounts a container gets, from its definition. They are made on the host side, not by LXC
/// inside the container: a mount a container inherits into its less privileged user namespace has
/// its flags locked by the kernel, so its root cannot remount it writable or unmount it.
/// </summary>
public static class MountPlan
{
    public const string StoreTarget = "/nix/store";
    public const string ProfileTarget = "/nix/var/nix/profiles";
    /// <summary>The host nix-daemon's socket: the socket itself, since Debian's directory is 0770 root:nix-users.</summary>
    public const string DaemonSocket = "/nix/var/nix/daemon-socket/socket";
    public const string PerContainerGcRoots = "/nix/var/nix/gcroots/per-container";

    /// <summary>A container's GC-root directory inside; on the host the same path by default (as nixos-container binds it).</summary>
    public static string GcRootsDir(string name) => $"{PerContainerGcRoots}/{name}";

    /// <summary>Store, profile, then the bind mounts, each after any mount its target lies under.</summary>
    public static IReadOnlyList<HostMount> For(LxcContainerSpec spec, HostFeatures host)
    {
        var mounts = new List<HostMount>
        {
            // Idmapped so that the store is owned by root inside, not nobody.
            new(spec.StoreDir, StoreTarget, ReadOnly: true, host.IdmappedMounts ? MountIdmap.Preferred : MountIdmap.None),
            new(spec.ProfileDir, ProfileTarget, ReadOnly: true, MountIdmap.None),
        };
        if (spec.Definition.NixDaemon)
        {
            // The host's daemon, reached through its socket (connecting writes nothing to the mount, so
            // it is read-only). Neither the database nor the store is bound writable: every change goes
            // through the daemon, which treats the container's root (a uid of its range) as an untrusted user.
            mounts.Add(new HostMount(DaemonSocket, DaemonSocket, ReadOnly: true, MountIdmap.None));
            // The container's GC roots: writable by its root, read by the host's GC.
            string name = spec.Definition.Name;
            mounts.Add(new HostMount(spec.GcRootsDir ?? GcRootsDir(name), GcRootsDir(name), ReadOnly: false, MountIdmap.None,
                CreateSource: true, SourceOwner: spec.Ids.Start));
        }
        foreach (var bind in spec.Definition.BindMounts.OrderBy(b => b.Container, StringComparer.Ordinal))
        {
            if (bind.Idmapped && !host.IdmappedMounts)
            {
                throw new ContainerDException(ErrorKind.HostUnsupported,
                    $"bind mount {bind.Host} asks for idmapped: true, but this host cannot make idmapped mounts");
            }
            if (bind.Idmapped && !bind.ReadOnly)
            {
                // The parser refuses this; a definition from elsewhere must not slip through.
                throw new ContainerDException(ErrorKind.InvalidDefinition, $"bind mount {bind.Host}: an idmapped bind mount must be read-only");
            }
            mounts.Add(new HostMount(bind.Host, bind.Container, bind.ReadOnly, bind.Idmapped ? MountIdmap.Required : MountIdmap.None,
                bind.Create, bind.Create && !bind.ReadOnly ? spec.Ids.Start : null));
        }
        return mounts;
    }

    /// <summary>
    /// The plan as the LXC pre-start hook reads it (a file beside the LXC config): the rootfs, the
    /// range, what the root is (the rootfs directory, or a fresh tmpfs for an ephemeral container),
    /// then one tab-separated line per mount. Paths never hold tabs or line breaks (PathRules).
    /// </summary>
    public static string Serialize(string rootfs, IdRange ids, IReadOnlyList<HostMount> mounts, bool ephemeral = false)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"rootfs\t{rootfs}\nids\t{ids.Start}\t{ids.Count}\n");
        if (ephemeral)
        {
            text.Append("root\ttmpfs\n");
        }
        foreach (var m in mounts)
        {
            text.Append(CultureInfo.InvariantCulture,
                $"mount\t{m.Source}\t{m.Target}\t{(m.ReadOnly ? "ro" : "rw")}\t{m.Idmap.ToString().ToLowerInvariant()}\t{(m.CreateSource ? "create" : "exists")}\t{(m.SourceOwner is { } o ? o.ToString(CultureInfo.InvariantCulture) : "root")}\n");
        }
        if (mounts.SelectMany(m => new[] { m.Source, m.Target }).Append(rootfs).Any(p => p.Length == 0 || p.AsSpan().IndexOfAny('\t', '\n') >= 0))
        {
            throw new ContainerDException(ErrorKind.Failed, "a mount path is empty or holds a tab or line break");
        }
        return text.ToString();
    }

    /// <summary>What Serialize wrote; anything else is an error (the file is the daemon's, read by root).</summary>
    public static (string Rootfs, IdRange Ids, IReadOnlyList<HostMount> Mounts, bool Ephemeral) Parse(string text)
    {
        string? rootfs = null;
        bool ephemeral = false;
        IdRange? ids = null;
        var mounts = new List<HostMount>();
        foreach (string line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] f = line.Split('\t');
            switch (f)
            {
                case ["rootfs", var path]:
                    rootfs = path;
                    break;
                case ["root", "tmpfs"]:
                    ephemeral = true;
                    break;
                case ["ids", var start, var count]:
                    ids = new IdRange(long.Parse(start, CultureInfo.InvariantCulture), long.Parse(count, CultureInfo.InvariantCulture));
                    break;
                case ["mount", var source, var target, "ro" or "rw", var idmap, "create" or "exists", var owner]:
                    mounts.Add(new HostMount(source, target, f[3] == "ro", Enum.Parse<MountIdmap>(idmap, ignoreCase: true), f[5] == "create",
                        owner == "root" ? null : long.Parse(owner, CultureInfo.InvariantCulture)));
                    break;
                default:
                    throw new ContainerDException(ErrorKind.Failed, $"mount plan: cannot read the line '{line}'");
            }
        }
        return (rootfs ?? throw new ContainerDException(ErrorKind.Failed, "mount plan: no rootfs line"),
            ids ?? throw new ContainerDException(ErrorKind.Failed, "mount plan: no ids line"), mounts, ephemeral);
    }
}
