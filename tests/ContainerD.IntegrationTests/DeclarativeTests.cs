using ContainerD.Contract;
using ContainerD.IntegrationTests.Harness;
using Tmds.DBus.Protocol;

namespace ContainerD.IntegrationTests;

/// <summary>Containers declared as files (as the NixOS module writes them) follow their files at each daemon start.</summary>
public sealed class DeclarativeTests
{
    [Fact]
    public async Task A_declared_container_is_created_updated_kept_and_pruned_by_daemon_restarts()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        string file = Path.Combine(daemon.DefinitionsDir, "decl.yaml");
        await File.WriteAllTextAsync(file, DaemonUnderTest.NixDefinition("decl", "1", "autostart: true"));

        // Dropped in, then the daemon starts: created and, being autostart, running.
        await daemon.KillAsync();
        await daemon.StartProcessAsync();
        using (var client = await daemon.ConnectAsync())
        {
            await Eventually.TrueAsync(async () => (await client.ListContainersAsync()) is [{ State: "running", Generation: 1 }], "decl created and running", TimeSpan.FromSeconds(60));

            // An imperative create of a declared name is refused.
            var clash = await Assert.ThrowsAsync<DBusErrorReplyException>(() => client.CreateContainerAsync("decl", DaemonUnderTest.NixDefinition("decl")));
            Assert.Equal("io.containerctl.ContainerD1.Error.AlreadyExists", clash.ErrorName);
            Assert.Contains(file, clash.ErrorMessage);
            // …and so is an update by hand: the file is the truth.
            var byHand = await Assert.ThrowsAsync<DBusErrorReplyException>(() => client.UpdateContainerAsync("decl", DaemonUnderTest.NixDefinition("decl", "2")));
            Assert.Contains("change that file instead", byHand.ErrorMessage);
        }

        // The file changes; the next start applies it as a new generation.
        await File.WriteAllTextAsync(file, DaemonUnderTest.NixDefinition("decl", "2", "autostart: true"));
        await daemon.KillAsync();
        await daemon.StartProcessAsync();
        using (var client = await daemon.ConnectAsync())
        {
            await Eventually.TrueAsync(async () => (await client.ListContainersAsync()) is [{ Generation: 2 }] && (await client.ListJobsAsync()).Length == 0,
                "decl at generation 2", TimeSpan.FromSeconds(60));
            var row = (await client.ListContainersAsync())[0];
            Assert.EndsWith("-busybox-system-decl-2", (await client.GetAllPropertiesAsync(row.Path, Names.ContainerInterface))["SystemPath"].GetString());
        }

        // The file goes: the container stays (only a warning) …
        File.Delete(file);
        await daemon.KillAsync();
        await daemon.StartProcessAsync();
        using (var client = await daemon.ConnectAsync())
        {
            Assert.Single(await client.ListContainersAsync());
            Assert.Contains("container decl stays", daemon.Output);
        }

        // … unless the config says pruneDeclarative: true.
        await File.AppendAllTextAsync(daemon.ConfigFile, "\npruneDeclarative: true\n");
        await daemon.KillAsync();
        await daemon.StartProcessAsync();
        using (var client = await daemon.ConnectAsync())
        {
            await Eventually.TrueAsync(async () => (await client.ListContainersAsync()).Length == 0, "decl pruned", TimeSpan.FromSeconds(30));
            await Invariants.AssertHoldAsync(daemon, client);
        }
    }
}
