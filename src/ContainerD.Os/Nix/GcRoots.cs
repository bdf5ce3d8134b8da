namespace ContainerD.Os.Nix;

/// <summary>The host's GC roots a container leaves behind.</summary>
public static class GcRoots
{
    public const string AutoDir = "/nix/var/nix/gcroots/auto";

    /// <summary>
    /// Nix inside a container registers each root it makes (nix-build's result, --add-root) with
    /// the daemon as an indirect root: a link in gcroots/auto to the root's path as the container
    /// names it; the daemon's own roots are such links too (each generation's, a build's result, a
    /// snapshot's system). Once destroy has deleted the roots, those links lead nowhere; this removes
    /// the ones under the prefixes (the container's gcroots dir, its profile, its state dir) that do.
    /// A link that still leads somewhere stays.
    /// </summary>
    public static int RemoveStaleIndirectRoots(IReadOnlyList<string> prefixes, string autoDir = AutoDir)
    {
        if (!Directory.Exists(autoDir))
        {
            return 0;
        }
        int removed = 0;
        foreach (var link in new DirectoryInfo(autoDir).EnumerateFileSystemInfos())
        {
            if (link.LinkTarget is { } target && prefixes.Any(prefix => target.StartsWith(prefix + "/", StringComparison.Ordinal))
                && !File.Exists(target) && !Directory.Exists(target) && !IsLink(target))
            {
                try
                {
                    File.Delete(link.FullName); // a symlink: deleted, not followed
                    removed++;
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // Gone meanwhile, or not ours to remove: the host's GC drops stale links too.
                }
            }
        }
        return removed;
    }

    private static bool IsLink(string path)
    {
        try
        {
            return new FileInfo(path).LinkTarget is not null;
        }
        catch (IOException)
        {
            return false;
        }
    }
}
