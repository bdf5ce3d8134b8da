using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using ContainerD.Domain.Definitions;
using ContainerD.Domain.IdMapping;

namespace ContainerD.Domain.Lxc;

/// <summary>Everything the renderer needs about one container.</summary>
public sealed record LxcContainerSpec(
    ContainerDefinition Definition,
    IdRange Ids,
    string RootfsPath,
    string ProfileDir,
    string ConsoleLogPath,
    string StoreDir = "/nix/store",
    LxcHook? Hook = null,
    string? GcRootsDir = null);

/// <summary>
/// The program LXC runs as its pre-start and start-host hooks (containerctld itself) and the mount
/// plan it reads: whoever runs lxc-start, the daemon or a person, the container gets locked mounts.
/// </summary>
public sealed record LxcHook(string Program, string PlanFile);

/// <summary>
/// The container's LXC config, rendered from its definition — never edited by hand. The parts that
/// make it safe are not optional: an id map that never reaches host root, the store read-only.
/// </summary>
public static class LxcConfigRenderer
{
    public static string Render(LxcContainerSpec spec, HostFeatures host)
    {
        var d = spec.Definition;
        if (spec.Ids.Start <= 0)
        {
            throw new ContainerDException(ErrorKind.Failed, $"refusing to map container root of '{d.Name}' to host uid {spec.Ids.Start}");
        }
        var c = new Lines();
        c.Comment("Rendered by containerctld; do not edit — changes are overwritten");
        c.Add("lxc.uts.name", d.Name);
        c.Add("lxc.rootfs.path", "dir:" + spec.RootfsPath);
        c.Add("lxc.idmap", $"u 0 {N(spec.Ids.Start)} {N(spec.Ids.Count)}");
        c.Add("lxc.idmap", $"g 0 {N(spec.Ids.Start)} {N(spec.Ids.Count)}");

        // The store, the profile and the bind mounts are not LXC's to make: inside the container's own
        // mount namespace its root could remount them writable. The daemon mounts them on the host side
        // (MountPlan); checked here too, so that a definition this host cannot serve fails before start.
        MountPlan.For(spec, host);
        if (spec.Hook is { } hook)
        {
            // LXC runs hooks through sh -c: nothing but a plain path goes into the line.
            foreach (string path in new[] { hook.Program, hook.PlanFile })
            {
                if (!System.Text.RegularExpressions.Regex.IsMatch(path, @"^/[A-Za-z0-9/._+-]+\z"))
                {
                    throw new ContainerDException(ErrorKind.Failed, $"cannot use {path} in an LXC hook: only letters, digits and /._+- may be in it");
                }
            }
            c.Comment("/nix/store, the profile and bind mounts: made by containerctld on the host side before the container's");
            c.Comment("namespaces (pre-start), so that they are locked inside; the host's copies go once it is set up (start-host).");
            c.Comment("For an lxc-start run by hand: the daemon makes the same mounts itself and skips these hooks.");
            c.Add("lxc.hook.pre-start", $"{hook.Program} lxc-hook mount {hook.PlanFile}");
            c.Add("lxc.hook.start-host", $"{hook.Program} lxc-hook unmount {hook.PlanFile}");
        }
        c.Add("lxc.mount.auto", "proc:mixed sys:ro cgroup:mixed");
        c.Add("lxc.autodev", "1");
        c.Add("lxc.pty.max", "16");
        c.Add("lxc.tty.max", "0");
        c.Add("lxc.init.cmd", "/nix/var/nix/profiles/system/init");
        if (d.NixDaemon)
        {
            // Nix inside uses the host's daemon: with the rootfs writable, "auto" would pick a local store.
            c.Add("lxc.environment", "NIX_REMOTE=daemon");
        }
        c.Add("lxc.console.logfile", spec.ConsoleLogPath);
        c.Add("lxc.console.size", "1MB");
        c.Add("lxc.console.rotate", "1");
        c.Add("lxc.apparmor.profile", host.AppArmor ? "generated" : "unconfined");
        if (host.SeccompProfile is not null)
        {
            c.Add("lxc.seccomp.profile", host.SeccompProfile);
        }
        RenderNetwork(c, d);
        RenderLimits(c, d, host);
        return c.ToString();
    }

    /// <summary>The container's side of its veth.</summary>
    public const string ContainerInterfaceName = "eth0";

    /// <summary>The host side of a container's veth: deterministic and at most 15 bytes (IFNAMSIZ).</summary>
    public static string HostInterfaceName(string container)
    {
        string name = "ve-" + container;
        if (name.Length <= 15)
        {
            return name;
        }
        string hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(container)))[..4];
        return $"ve-{container[..7]}-{hash}";
    }

    private static void RenderNetwork(Lines c, ContainerDefinition d)
    {
        var n = d.Network;
        if (n.Mode == NetworkMode.None)
        {
            c.Add("lxc.net.0.type", "empty");
            return;
        }
        c.Add("lxc.net.0.type", "veth");
        c.Add("lxc.net.0.name", ContainerInterfaceName);
        c.Add("lxc.net.0.flags", "up");
        c.Add("lxc.net.0.veth.pair", HostInterfaceName(d.Name));
        if (n.Bridge is not null)
        {
            c.Add("lxc.net.0.link", n.Bridge);
        }
        if (n.LocalAddress is not null)
        {
            c.Add("lxc.net.0.ipv4.address", WithBroadcast(n.LocalAddress));
        }
        if (n.LocalAddress6 is not null)
        {
            c.Add("lxc.net.0.ipv6.address", n.LocalAddress6);
        }
        // Point to point: the host end is the container's way out, as for nixos-container.
        if (n.HostAddress is not null)
        {
            c.Add("lxc.net.0.ipv4.gateway", n.HostAddress.Split('/')[0]);
        }
        if (n.HostAddress6 is not null)
        {
            c.Add("lxc.net.0.ipv6.gateway", n.HostAddress6.Split('/')[0]);
        }
    }

    private static void RenderLimits(Lines c, ContainerDefinition d, HostFeatures host)
    {
        var limits = d.Limits;
        if (limits.MemoryBytes is { } memory)
        {
            Limit(c, host, "memory", "memory.max", N(memory), [("memory.limit_in_bytes", N(memory))]);
        }
        if (limits.Pids is { } pids)
        {
            Limit(c, host, "pids", "pids.max", N(pids), [("pids.max", N(pids))]);
        }
        if (limits.Cpus is { } cpus)
        {
            long quota = (long)Math.Round(cpus * 100_000);
            Limit(c, host, "cpu", "cpu.max", $"{N(quota)} 100000", [("cpu.cfs_quota_us", N(quota)), ("cpu.cfs_period_us", "100000")]);
        }
    }

    /// <summary>A limit goes to whichever hierarchy has its controller; a limit that cannot apply is an error.</summary>
    private static void Limit(Lines c, HostFeatures host, string controller, string v2Key, string v2Value, (string Key, string Value)[] v1)
    {
        if (host.CgroupV2Controllers.Contains(controller))
        {
            c.Add("lxc.cgroup2." + v2Key, v2Value);
        }
        else if (host.CgroupV1Controllers.Contains(controller))
        {
            foreach (var (key, value) in v1)
            {
                c.Add("lxc.cgroup." + key, value);
            }
        }
        else
        {
            throw new ContainerDException(ErrorKind.HostUnsupported,
                $"limits: the {controller} limit cannot be applied: no {controller} cgroup controller is mounted on this host");
        }
    }

    private static string N(long value) => value.ToString(CultureInfo.InvariantCulture);

    private sealed class Lines
    {
        private readonly StringBuilder _text = new();

        public void Comment(string text) => _text.Append("# ").Append(text).Append('\n');

        public void Add(string key, string value)
        {
            // The parser forbids these already; a newline here would inject config lines.
            if (value.AsSpan().IndexOfAny('\n', '\r', '\0') >= 0)
            {
                throw new ContainerDException(ErrorKind.InvalidDefinition, $"{key} value contains a line break");
            }
            _text.Append(key).Append(" = ").Append(value).Append('\n');
        }

        public override string ToString() => _text.ToString();
    }

    /// <summary>
    /// "10.231.0.2/30" → "10.231.0.2/30 10.231.0.3": LXC 5.0 left alone sets the broadcast to the
    /// host part only (0.0.0.3). /31 and /32 have no broadcast address.
    /// </summary>
    internal static string WithBroadcast(string cidr)
    {
        string[] parts = cidr.Split('/');
        int prefix = int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture);
        if (prefix >= 31)
        {
            return cidr;
        }
        byte[] bytes = System.Net.IPAddress.Parse(parts[0]).GetAddressBytes();
        uint address = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(bytes);
        uint broadcast = address | (uint.MaxValue >> prefix);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(bytes, broadcast);
        return $"{cidr} {new System.Net.IPAddress(bytes)}";
    }
}
