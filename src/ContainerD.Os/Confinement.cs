using ContainerD.Domain;
using ContainerD.Domain.Definitions;
using ContainerD.Os.Processes;
using Mono.Unix.Native;

namespace ContainerD.Os;

/// <summary>
/// What a member of the admin group (a caller other than root) may ask for, checked against the
/// host as it is: bind-mount sources strictly under the config's bindSourceRoots, through
/// directories only root can change (so no symlink can be swapped in before lxc-start mounts
/// them), never idmapped; and a Nix file read with the member's own rights.
/// </summary>
public static class Confinement
{
    /// <summary>Idmapped sources: through one, the container's root acts as host root on the source.</summary>
    public static string? StaticProblem(BindMount mount, IReadOnlyList<string> roots)
    {
        if (mount.Idmapped)
        {
            return $"bind mount {mount.Host}: idmapped bind mounts are for root only (through one the container's root writes as host root)";
        }
        if (!roots.Any(root => mount.Host.StartsWith(root + "/", StringComparison.Ordinal)))
        {
            return roots.Count == 0
                ? $"bind mount {mount.Host}: members may not bind host paths here (bindSourceRoots is empty); only root may"
                : $"bind mount {mount.Host} is not under bindSourceRoots ({string.Join(", ", roots)}); only root may bind other host paths";
        }
        return null;
    }

    /// <summary>
    /// The static rules, then the host: every directory from / down to the source's parent is a real
    /// directory (no symlink) owned by root and writable only by root, or sticky (/tmp); the source,
    /// if it exists, is no symlink. Components that do not exist yet stop the walk (create: true
    /// makes them as root; the check runs again after that, before lxc-start).
    /// </summary>
    public static string? Problem(BindMount mount, IReadOnlyList<string> roots)
    {
        if (StaticProblem(mount, roots) is { } problem)
        {
            return problem;
        }
        string path = "";
        string[] segments = mount.Host.Split('/', StringSplitOptions.RemoveEmptyEntries);
        for (int i = -1; i < segments.Length; i++)
        {
            path = i < 0 ? "/" : path.TrimEnd('/') + "/" + segments[i];
            if (Syscall.lstat(path, out Stat stat) != 0)
            {
                return Stdlib.GetLastError() == Errno.ENOENT ? null : $"bind mount {mount.Host}: cannot inspect {path}: {Stdlib.GetLastError()}";
            }
            var type = stat.st_mode & FilePermissions.S_IFMT;
            if (type == FilePermissions.S_IFLNK)
            {
                return $"bind mount {mount.Host}: {path} is a symbolic link; a member's bind source must be reached without one";
            }
            bool isSource = i == segments.Length - 1;
            if (isSource)
            {
                return type is FilePermissions.S_IFDIR or FilePermissions.S_IFREG ? null
                    : $"bind mount {mount.Host} is neither a directory nor a regular file";
            }
            bool othersWrite = (stat.st_mode & (FilePermissions.S_IWGRP | FilePermissions.S_IWOTH)) != 0;
            bool sticky = (stat.st_mode & FilePermissions.S_ISVTX) != 0;
            if (type != FilePermissions.S_IFDIR || stat.st_uid != 0 || (othersWrite && !sticky))
            {
                return $"bind mount {mount.Host}: {path} must be a directory owned by root and writable only by root, or a member could swap a symlink in";
            }
        }
        return null;
    }

    /// <summary>Reads a file with a user's rights (setpriv, then head: at most maxBytes), as root would not.</summary>
    public static async Task<byte[]> ReadAsUserAsync(uint uid, string file, int maxBytes, CancellationToken cancellationToken)
    {
        var user = Syscall.getpwuid(uid)
            ?? throw new ContainerDException(ErrorKind.AccessDenied, $"uid {uid} has no passwd entry: the daemon cannot read {file} with its rights");
        var output = await CommandRunner.RunAsync("setpriv",
            [$"--reuid={uid}", $"--regid={user.pw_gid}", "--init-groups", "--", "head", "-c", (maxBytes + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), "--", file],
            cancellationToken: cancellationToken).ConfigureAwait(false);
        if (!output.Succeeded)
        {
            throw new ContainerDException(ErrorKind.AccessDenied,
                $"{Accounts.UnixAccounts.Describe(uid)} cannot read {file}: {output.StderrTail(1)}; a member's Nix file must be readable by the member");
        }
        if (output.Stdout.Length > maxBytes)
        {
            throw new ContainerDException(ErrorKind.InvalidDefinition, $"{file} is larger than {maxBytes / 1024} KiB");
        }
        return output.Stdout;
    }
}
