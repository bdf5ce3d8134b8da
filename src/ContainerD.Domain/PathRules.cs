namespace ContainerD.Domain;

/// <summary>
/// Paths from definitions and the config are compared, joined and written into LXC config as
/// they are, so they must be absolute and in one normal form. Each method returns what is wrong,
/// to follow the path in a message ("bindMounts[0].host 'srv' is not an absolute path"), or null.
/// </summary>
internal static class PathRules
{
    public static string? Problem(string path)
    {
        if (!path.StartsWith('/'))
            return "is not an absolute path";
        if (path.Any(char.IsControl))
            return "must not contain control characters";
        if (path.Split('/').Any(segment => segment is "." or ".."))
            return "must not contain '.' or '..' segments";
        if (path.Contains("//") || (path.Length > 1 && path.EndsWith('/')))
            return "is not normalized: remove any '//' and the trailing '/'";
        return null;
    }

    /// <summary>
    /// A path that goes into LXC's fstab-like lxc.mount.entry, where whitespace separates fields,
    /// ',' separates options and '\' escapes: any of them would break the entry or inject options.
    /// </summary>
    public static string? MountProblem(string path) =>
        Problem(path)
        ?? (path.Any(c => char.IsWhiteSpace(c) || c is '\\' or ',') ? "must not contain whitespace, '\\' or ','" : null);

    /// <summary>Whether one path is the other or lies under it: a mount on either shadows the other.</summary>
    public static bool Overlap(string a, string b) =>
        a == b || a == "/" || b == "/" || a.StartsWith(b + "/", StringComparison.Ordinal) || b.StartsWith(a + "/", StringComparison.Ordinal);
}
