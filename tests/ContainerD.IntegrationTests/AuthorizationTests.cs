using ContainerD.IntegrationTests.Harness;

namespace ContainerD.IntegrationTests;

/// <summary>
/// Anyone may look; only root and the admin group may change. Checked by the daemon itself on a bus
/// without policy, and by the repository's policy file on a system bus that loads it.
/// </summary>
public sealed class AuthorizationTests
{
    private const string Manager = "io.containerctl.ContainerD1.Manager";

    private static async Task<CliResult> CliAs(string user, string bus, params string[] args)
    {
        var (exit, stdout, stderr) = await Programs.Run(TestUsers.As(user)[0], [.. TestUsers.As(user)[1..], Repo.Cli, "--bus", bus, .. args]);
        return new CliResult(exit, stdout, stderr);
    }

    private static Task<(int ExitCode, string Stdout, string Stderr)> BusctlAs(string user, string bus, params string[] args) =>
        Programs.Run(TestUsers.As(user)[0], [.. TestUsers.As(user)[1..], "busctl", $"--address={bus}", .. args]);

    [Fact]
    public async Task The_daemon_itself_denies_changes_to_users_outside_the_admin_group()
    {
        await TestUsers.EnsureAsync(TestUsers.Outsider);
        await TestUsers.EnsureAsync(TestUsers.Admin, "ctd-test-admins");
        string dir = BusConfigs.SharedDir();
        using var bus = PrivateBus.Start(BusConfigs.Open(dir));
        await using var daemon = await DaemonUnderTest.StartAsync("adminGroup: ctd-test-admins", bus);
        using var client = await daemon.ConnectAsync();
        Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync("guarded", DaemonUnderTest.NixDefinition("guarded")))).Succeeded);

        // Reads work for anyone.
        var list = await CliAs(TestUsers.Outsider, bus.Address, "list");
        Assert.True(list.ExitCode == 0, list.ToString());
        Assert.Contains("guarded", list.Stdout);
        var property = await BusctlAs(TestUsers.Outsider, bus.Address, "get-property", "io.containerctl.ContainerD1",
            "/io/containerctl/ContainerD1/container/guarded", "io.containerctl.ContainerD1.Container", "State");
        Assert.Equal("s \"stopped\"", property.Stdout.Trim());

        // Changes are denied, with the documented exit code, and change nothing.
        var start = await CliAs(TestUsers.Outsider, bus.Address, "start", "guarded");
        Assert.Equal(4, start.ExitCode);
        Assert.Contains($"{TestUsers.Outsider} (uid", start.Stderr);
        Assert.Contains("only root and members of group 'ctd-test-admins'", start.Stderr);
        var destroy = await BusctlAs(TestUsers.Outsider, bus.Address, "call", "io.containerctl.ContainerD1",
            "/io/containerctl/ContainerD1", Manager, "DestroyContainer", "s", "guarded");
        Assert.NotEqual(0, destroy.ExitCode);
        Assert.Contains("may not DestroyContainer", destroy.Stderr);
        var run = await BusctlAs(TestUsers.Outsider, bus.Address, "call", "io.containerctl.ContainerD1",
            "/io/containerctl/ContainerD1/container/guarded", "io.containerctl.ContainerD1.Container", "RunCommand", "asa{ss}", "1", "id", "0");
        Assert.NotEqual(0, run.ExitCode);
        Assert.Equal(("guarded", "stopped"), ((await client.ListContainersAsync())[0].Name, (await client.ListContainersAsync())[0].State));
        Assert.Empty(await client.ListJobsAsync());

        // A member of the admin group may change.
        var admin = await CliAs(TestUsers.Admin, bus.Address, "start", "guarded");
        Assert.True(admin.ExitCode == 0, admin.ToString());
        Assert.Equal("running", (await client.ListContainersAsync())[0].State);
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public async Task The_repository_policy_file_lets_anyone_read_and_only_root_and_group_containerctl_change()
    {
        await TestUsers.EnsureAsync(TestUsers.Outsider);
        await TestUsers.EnsureAsync("ctd-test-member", "containerctl");
        string dir = BusConfigs.SharedDir();
        using var bus = PrivateBus.Start(BusConfigs.SystemWithRepoPolicy(dir));
        // Root may own the name under this policy: the daemon starts.
        await using var daemon = await DaemonUnderTest.StartAsync("", bus);
        using var client = await daemon.ConnectAsync();
        Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync("policed", DaemonUnderTest.NixDefinition("policed")))).Succeeded);

        var list = await CliAs(TestUsers.Outsider, bus.Address, "list");
        Assert.True(list.ExitCode == 0, list.ToString());
        var introspect = await BusctlAs(TestUsers.Outsider, bus.Address, "introspect", "io.containerctl.ContainerD1", "/io/containerctl/ContainerD1");
        Assert.True(introspect.ExitCode == 0, introspect.Stderr);
        Assert.Contains(".ListContainers", introspect.Stdout);

        // The bus itself refuses the change before it reaches the daemon.
        var start = await CliAs(TestUsers.Outsider, bus.Address, "start", "policed");
        Assert.Equal(4, start.ExitCode);
        var raw = await Programs.Run(TestUsers.As(TestUsers.Outsider)[0],
            [.. TestUsers.As(TestUsers.Outsider)[1..], "dbus-send", $"--bus={bus.Address}", "--print-reply", "--dest=io.containerctl.ContainerD1",
             "/io/containerctl/ContainerD1", Manager + ".StartContainer", "string:policed"]);
        Assert.Contains("org.freedesktop.DBus.Error.AccessDenied: Rejected send message", raw.Stderr);
        Assert.Equal("stopped", (await client.ListContainersAsync())[0].State);

        // A non-root user cannot take the daemon's name.
        var own = await Programs.Run(TestUsers.As(TestUsers.Outsider)[0],
            [.. TestUsers.As(TestUsers.Outsider)[1..], "dbus-send", $"--bus={bus.Address}", "--print-reply", "--dest=org.freedesktop.DBus",
             "/org/freedesktop/DBus", "org.freedesktop.DBus.RequestName", "string:io.containerctl.ContainerD1", "uint32:4"]);
        Assert.NotEqual(0, own.ExitCode);
        Assert.Contains("not allowed to own", own.Stderr);

        var member = await CliAs("ctd-test-member", bus.Address, "start", "policed");
        Assert.True(member.ExitCode == 0, member.ToString());
        Assert.Equal("running", (await client.ListContainersAsync())[0].State);
        Directory.Delete(dir, recursive: true);
    }
}
