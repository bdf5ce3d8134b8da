namespace ContainerD.Testing;

/// <summary>
/// What the integration tests need. Missing pieces fail the test with a message naming them:
/// a silent skip in CI would hide that nothing real was tested.
/// </summary>
public static class Prerequisites
{
    private static readonly string[] Commands =
        ["lxc-start", "lxc-stop", "lxc-info", "lxc-attach", "nix-build", "nix-env", "nix-store", "dbus-daemon", "newuidmap", "busctl"];

    private static readonly Lazy<string?> Problem = new(Check);

    public static void Require()
    {
        if (Problem.Value is { } problem)
        {
            throw new InvalidOperationException($"integration tests cannot run: {problem}. Run ./test.sh, which installs them (lxc uidmap nix-bin dbus busybox-static).");
        }
    }

    private static string? Check()
    {
        var missing = new List<string>();
        if (Environment.UserName != "root")
        {
            missing.Add("they must run as root (they start real LXC containers)");
        }
        foreach (string command in Commands.Where(c => Which(c) is null))
        {
            missing.Add($"{command} is not on PATH");
        }
        if (!PrivateEtc.IsActive)
        {
            missing.Add($"/etc is not a private overlay: the tests change /etc (test users, root's /etc/subuid lines), so run them through ./test.sh or {PrivateEtc.Script} dotnet test …");
        }
        if (!File.Exists(Busybox))
        {
            missing.Add($"static busybox is missing at {Busybox}");
        }
        return missing.Count == 0 ? null : string.Join("; ", missing);
    }

    /// <summary>The static busybox, resolved: Nix must not copy a symlinked directory.</summary>
    public static string Busybox => new FileInfo("/bin/busybox").ResolveLinkTarget(true)?.FullName
        ?? Path.Combine(new DirectoryInfo("/bin").ResolveLinkTarget(true)?.FullName ?? "/bin", "busybox");

    public static string? Which(string command) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin").Split(':')
            .Select(dir => Path.Combine(dir, command)).FirstOrDefault(File.Exists);
}
