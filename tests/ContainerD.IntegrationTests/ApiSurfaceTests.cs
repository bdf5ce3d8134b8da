using ContainerD.Contract;
using ContainerD.IntegrationTests.Harness;
using Tmds.DBus.Protocol;

namespace ContainerD.IntegrationTests;

/// <summary>What users rely on across restarts and rollbacks, as outside clients see it on the bus.</summary>
public sealed class ApiSurfaceTests
{
    [Fact]
    public async Task Job_ids_and_LastJob_survive_a_daemon_restart()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        string system = await Systems.BuildAsync("surface");
        uint lastId;
        using (var client = await daemon.ConnectAsync())
        {
            var created = await client.RunJobAsync(c => c.CreateContainerAsync("kept", $"system: {{ path: {system} }}\n"));
            Assert.True(created.Succeeded, created.Message);
            var stopped = await client.RunJobAsync(c => c.StopContainerAsync("kept", true));
            lastId = stopped.Id;
        }
        await daemon.KillAsync();
        await daemon.StartProcessAsync();
        using (var client = await daemon.ConnectAsync())
        {
            string path = await client.GetContainerAsync("kept");
            var properties = await client.GetAllPropertiesAsync(path, Names.ContainerInterface);
            Assert.Equal("stop done", properties["LastJob"].GetString());
            var next = await client.RunJobAsync(c => c.StartContainerAsync("kept"));
            Assert.True(next.Id > lastId, $"job {next.Id} after job {lastId}: a path was reused");
            Assert.Equal("start done", (await client.GetPropertyAsync(path, Names.ContainerInterface, "LastJob")).GetString());
        }
    }

    [Fact]
    public async Task The_definition_follows_a_rollback_and_a_later_update_rebuilds_the_rolled_back_system()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        using var client = await daemon.ConnectAsync();
        string one = await Systems.BuildAsync("follow", "1"), two = await Systems.BuildAsync("follow", "2");
        string yamlOne = $"system: {{ path: {one} }}\n", yamlTwo = $"system: {{ path: {two} }}\n";
        Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync("follow", yamlOne))).Succeeded);
        Assert.True((await client.RunJobAsync(c => c.UpdateContainerAsync("follow", yamlTwo))).Succeeded);
        string path = await client.GetContainerAsync("follow");
        Assert.Equal(yamlTwo, (await client.GetPropertyAsync(path, Names.ContainerInterface, "Definition")).GetString());

        Assert.True((await client.RunJobAsync(c => c.RollbackContainerAsync("follow", 0))).Succeeded);
        Assert.Equal(yamlOne, (await client.GetPropertyAsync(path, Names.ContainerInterface, "Definition")).GetString());
        Assert.Equal(yamlOne, await File.ReadAllTextAsync(Path.Combine(daemon.StateDir, "containers", "follow", "container.yaml")));

        var rebuilt = await client.RunJobAsync(c => c.UpdateContainerAsync("follow", ""));
        Assert.True(rebuilt.Succeeded, rebuilt.Message);
        var row = Assert.Single(await client.ListContainersAsync());
        Assert.Equal(3u, row.Generation);
        Assert.Equal(one, (await client.GetPropertyAsync(path, Names.ContainerInterface, "SystemPath")).GetString());
    }

    [Fact]
    public async Task A_declared_container_is_neither_redefined_nor_destroyed_over_the_bus_while_its_file_exists()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        string system = await Systems.BuildAsync("declared");
        string file = Path.Combine(daemon.DefinitionsDir, "declared.yaml");
        await File.WriteAllTextAsync(file, $"system: {{ path: {system} }}\n");
        await daemon.KillAsync();
        await daemon.StartProcessAsync();
        using var client = await daemon.ConnectAsync();
        await Eventually.TrueAsync(async () => (await client.ListContainersAsync()).Length == 1 && (await client.ListJobsAsync()).Length == 0,
            "the declared container created", TimeSpan.FromSeconds(60));

        foreach (var change in new Func<Task<string>>[]
        {
            () => client.DestroyContainerAsync("declared"),
            () => client.UpdateContainerAsync("declared", $"system: {{ path: {system} }}\nautostart: true\n"),
        })
        {
            var error = await Assert.ThrowsAsync<DBusErrorReplyException>(change);
            Assert.Equal(Errors.NameOf("Declarative"), error.ErrorName);
            Assert.Contains(file, error.ErrorMessage);
        }
        var cli = await daemon.CliAsync("destroy", "declared", "--yes");
        Assert.True(cli.ExitCode == ExitCode.Conflict, cli.ToString());

        // A rebuild of what it is works; without the file it is an ordinary container.
        Assert.True((await client.RunJobAsync(c => c.UpdateContainerAsync("declared", ""))).Succeeded);
        File.Delete(file);
        Assert.True((await client.RunJobAsync(c => c.DestroyContainerAsync("declared"))).Succeeded);
    }

    [Fact]
    public async Task The_CLI_refuses_a_definition_file_with_NUL_or_of_100_MB_with_a_clear_error()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        string dir = Path.Combine(daemon.Dir, "defs");
        Directory.CreateDirectory(dir);
        string nul = Path.Combine(dir, "nul.yaml"), huge = Path.Combine(dir, "huge.yaml"), latin1 = Path.Combine(dir, "latin1.yaml");
        await File.WriteAllBytesAsync(nul, "system: { path: /nix/store/x }\n# \0\n"u8.ToArray());
        await File.WriteAllBytesAsync(latin1, [.. "system: { path: /nix/store/x }\n# caf"u8, 0xe9, (byte)'\n']);
        using (var stream = File.Create(huge))
        {
            stream.SetLength(100L << 20);
        }
        foreach (var (file, says) in new[] { (nul, "NUL byte"), (huge, "1 MiB"), (latin1, "not UTF-8") })
        {
            foreach (string[] args in new[] { new[] { "create", "x", "-f", file }, new[] { "update", "x", "-f", file } })
            {
                var result = await daemon.CliAsync(args);
                Assert.True(result.ExitCode == ExitCode.InvalidInput, result.ToString());
                Assert.Contains(says, result.Stderr);
                Assert.DoesNotContain("   at ", result.Stderr);
                Assert.Single(result.Stderr.Trim().Split('\n'));
            }
        }
    }
}
