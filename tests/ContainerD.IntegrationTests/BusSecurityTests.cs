using ContainerD.Contract;
using ContainerD.IntegrationTests.Harness;

namespace ContainerD.IntegrationTests;

/// <summary>
/// Caller-side attacks as an unprivileged host user over the bus: what is private stays private,
/// bounded answers to hostile input, and denials say what to do.
/// </summary>
public sealed class BusSecurityTests
{
    private const string Service = "io.containerctl.ContainerD1";

    private static Task<(int ExitCode, string Stdout, string Stderr)> BusctlAs(string user, string bus, params string[] args) =>
        Programs.Run(TestUsers.As(user)[0], [.. TestUsers.As(user)[1..], "busctl", $"--address={bus}", "--", .. args]);

    [Fact]
    public async Task An_outsider_reads_neither_the_definition_nor_job_messages_and_gets_short_answers_to_huge_input()
    {
        await TestUsers.EnsureAsync(TestUsers.Outsider);
        string dir = BusConfigs.SharedDir();
        await using var daemon = await DaemonUnderTest.StartAsync("", PrivateBus.Start(BusConfigs.Open(dir)));
        using var client = await daemon.ConnectAsync();
        string secret = "s3cret-" + Guid.NewGuid().ToString("N")[..8];
        string yaml = DaemonUnderTest.NixDefinition("private", args: new Dictionary<string, string> { ["failBuild"] = "0" }) + $"# token: {secret}\n";
        Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync("private", yaml))).Succeeded);
        string path = await client.GetContainerAsync("private");

        // Root (an admin) reads it all.
        var all = await client.GetAllPropertiesAsync(path, Names.ContainerInterface);
        Assert.Contains(secret, all["Definition"].GetString());
        Assert.Equal("create done", all["LastJob"].GetString());

        // The outsider: Get is AccessDenied, GetAll leaves it out, the public rest is there.
        var get = await BusctlAs(TestUsers.Outsider, daemon.Bus.Address, "get-property", Service, path, Names.ContainerInterface, "Definition");
        Assert.NotEqual(0, get.ExitCode);
        Assert.Contains("may not read Definition", get.Stderr);
        var getAll = await BusctlAs(TestUsers.Outsider, daemon.Bus.Address, "call", Service, path, Names.PropertiesInterface, "GetAll", "s", Names.ContainerInterface);
        Assert.True(getAll.ExitCode == 0, getAll.Stderr);
        Assert.DoesNotContain(secret, getAll.Stdout);
        Assert.DoesNotContain("\"Definition\"", getAll.Stdout);
        Assert.DoesNotContain("\"LastJobMessage\"", getAll.Stdout);
        Assert.Contains("\"LastJob\"", getAll.Stdout);
        var status = await daemon.CliAsync("status", "private");
        Assert.True(status.ExitCode == 0, status.ToString());

        // Huge input from the outsider: short named errors, the daemon stays.
        string huge = new('a', 100_000); // below the kernel's limit for one argument (128 KiB)
        var name = await BusctlAs(TestUsers.Outsider, daemon.Bus.Address, "call", Service, Names.ManagerPath, Names.ManagerInterface, Wire.Manager.GetContainer, "s", huge);
        Assert.Contains("invalid name", name.Stderr);
        Assert.True(name.Stderr.Length < 300, $"{name.Stderr.Length} chars");
        var property = await BusctlAs(TestUsers.Outsider, daemon.Bus.Address, "call", Service, path, Names.PropertiesInterface, "Get", "ss", huge, "State");
        Assert.True(property.Stderr.Length < 300, $"{property.Stderr.Length} chars");
        var destroy = await BusctlAs(TestUsers.Outsider, daemon.Bus.Address, "call", Service, Names.ManagerPath, Names.ManagerInterface, Wire.Manager.DestroyContainer, "s", "private");
        Assert.Contains("may not DestroyContainer", destroy.Stderr);
        Assert.Single(await client.ListContainersAsync());
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public async Task A_user_the_bus_policy_refuses_is_told_who_may()
    {
        await TestUsers.EnsureAsync(TestUsers.Outsider);
        string dir = BusConfigs.SharedDir();
        await using var daemon = await DaemonUnderTest.StartAsync("", PrivateBus.Start(BusConfigs.SystemWithRepoPolicy(dir)));
        var (exit, _, stderr) = await Programs.Run(TestUsers.As(TestUsers.Outsider)[0],
            [.. TestUsers.As(TestUsers.Outsider)[1..], Repo.Cli, "--bus", daemon.Bus.Address, "start", "anything"]);
        Assert.Equal(ExitCode.Denied, exit);
        Assert.Contains("permission denied: only root and members of group containerctl may start containers", stderr);
        Assert.DoesNotContain("Rejected send message", stderr);
        Directory.Delete(dir, recursive: true);
    }
}
