namespace ContainerD.IntegrationTests.Harness;

/// <summary>
/// Real unprivileged users and groups for authorization tests, made in the suite's private /etc
/// (tests/private-etc.sh): they vanish with it and the host's /etc/passwd and /etc/group never see them.
/// </summary>
public static class TestUsers
{
    public const string Outsider = "ctd-test-outsider";
    public const string Admin = "ctd-test-admin";

    /// <summary>Makes a system user (no home, no login, no subuid range) and, if given, puts it in a group.</summary>
    public static async Task EnsureAsync(string user, string? group = null)
    {
        PrivateEtc.Require();
        if (group is not null && (await Programs.Run("getent", "group", group)).ExitCode != 0)
        {
            await Must(Programs.Run("groupadd", "--system", group));
        }
        if ((await Programs.Run("id", user)).ExitCode != 0)
        {
            await Must(Programs.Run("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", user));
        }
        if (group is not null)
        {
            await Must(Programs.Run("usermod", "--append", "--groups", group, user));
        }
    }

    /// <summary>The argv prefix that runs a program as that user with its groups.</summary>
    public static string[] As(string user) => ["setpriv", $"--reuid={user}", $"--regid={user}", "--init-groups", "--"];

    private static async Task Must(Task<(int ExitCode, string Stdout, string Stderr)> run)
    {
        var (exit, _, stderr) = await run;
        Assert.True(exit == 0, stderr);
    }
}
