using ContainerD.Domain.Yaml;

namespace ContainerD.Domain.Definitions;

public static partial class DefinitionParser
{
    private static readonly string[] BindMountKeys = ["host", "container", "readOnly", "create", "idmapped"];

    // Targets the container needs for itself: a bind mount on, under or above one would hide it.
    private static readonly (string Path, string Reason)[] ReservedTargets =
    [
        ("/nix/store", "would shadow the read-only Nix store"),
        ("/nix/var/nix/profiles", "would shadow the container's system profile"),
        ("/proc", "would shadow the kernel's /proc"),
        ("/sys", "would shadow the kernel's /sys"),
        ("/dev", "would shadow the container's /dev"),
    ];

    private static List<BindMount> ReadBindMounts(YamlMap map)
    {
        var mounts = new List<BindMount>();
        var targets = new Dictionary<string, string>(StringComparer.Ordinal); // target → the mount that has it
        var items = map.List("bindMounts");
        for (var i = 0; i < items.Count; i++)
        {
            var mount = YamlMap.Read(items[i], $"bindMounts[{i}]", map.Errors, BindMountKeys);
            if (mount is null)
                continue;
            var host = MountPath(mount, "host");
            var container = MountPath(mount, "container");
            if (container is not null && TargetProblem(container) is { } problem)
                mount.Error("container", $"{mount.PathOf("container")} {YamlText.Quote(container)} {problem}");
            else if (container is not null && !targets.TryAdd(container, mount.Path))
                mount.Error("container", $"{mount.PathOf("container")} {YamlText.Quote(container)} is already the target of {targets[container]}");
            var bind = new BindMount(
                host ?? "",
                container ?? "",
                ReadOnly: mount.Bool("readOnly", true),
                Create: mount.Bool("create", false),
                Idmapped: mount.Bool("idmapped", false));
            // Through an idmapped mount the container's root writes as host root (uid 0) and its
            // uid N as host uid N: a writable one would hand it the host's files and setuid-root binaries.
            if (bind.Idmapped && !bind.ReadOnly)
                mount.Error("idmapped", $"{mount.PathOf("idmapped")}: an idmapped bind mount must be read-only: through a writable one the container's root would write files as host root; drop readOnly: false, or idmapped: true and give the source to the container's uids");
            mounts.Add(bind);
        }
        return mounts;
    }

    private static string? MountPath(YamlMap mount, string key)
    {
        var path = mount.RequiredString(key);
        if (path is not null && PathRules.MountProblem(path) is { } problem)
        {
            mount.Error(key, $"{mount.PathOf(key)} {YamlText.Quote(path)} {problem}");
            return null;
        }
        return path;
    }

    private static string? TargetProblem(string target)
    {
        if (target == "/")
            return "would hide the container's whole root file system";
        return ReservedTargets.FirstOrDefault(reserved => PathRules.Overlap(target, reserved.Path)).Reason;
    }
}
