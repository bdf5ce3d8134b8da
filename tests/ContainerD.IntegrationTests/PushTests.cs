using System.Text.RegularExpressions;
using ContainerD.IntegrationTests.Harness;

namespace ContainerD.IntegrationTests;

/// <summary>
/// Push: with -H, create and update build the system on this machine and copy to the other host
/// only the store paths it lacks (nix-copy-closure), counted here and checked in the host's own store.
/// </summary>
public sealed class PushTests
{
    [Fact]
    public async Task Create_and_update_on_another_host_build_here_and_copy_only_the_paths_it_lacks()
    {
        await using var host = await SecondHost.StartAsync();
        using var there = await host.Daemon.ConnectAsync();
        string nix = Repo.Fixture("busybox-system.nix");
        string run = Guid.NewGuid().ToString("N")[..8];

        // Built there (--build-on remote, and -f always): the host's store gets busybox and that system.
        string file = Path.Combine(host.Dir, "far-built.yaml");
        await File.WriteAllTextAsync(file, DaemonUnderTest.NixDefinition("far-built", extra: "autostart: true"));
        var builtThere = await host.CliAsync("create", "far-built", "-f", file);
        Assert.True(builtThere.ExitCode == 0, builtThere.ToString());
        Assert.DoesNotContain("push:", builtThere.Stdout);

        // Pushed: built here (a system this run alone builds), then its closure minus what the host has.
        var pushed = await host.CliAsync("create", "far-pushed", "--nix", nix, "--arg", "hostName", "far-pushed-" + run,
            "--arg", "busybox", Prerequisites.Busybox, "--start");
        Assert.True(pushed.ExitCode == 0, $"{pushed}\n{host.SshdLog}");
        Assert.Contains("push: building the system here: nix-build " + nix, pushed.Stdout);
        string system = Regex.Match(pushed.Stdout, @"push: copying the closure of (/nix/store/\S+) \(2 paths\)").Groups[1].Value;
        Assert.EndsWith($"-busybox-system-far-pushed-{run}-1", system, StringComparison.Ordinal);
        Assert.Contains($"push: 1 of 2 paths copied to {host.Spec()}, 1 there already", pushed.Stdout);
        Assert.Contains("far-pushed: started", pushed.Stdout);
        string[] closure = (await Programs.RunChecked("nix-store", "--query", "--requisites", system)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(closure.Order(StringComparer.Ordinal), (await host.ValidPathsAsync(closure)).Order(StringComparer.Ordinal));
        Assert.Equal(system, await SystemPathAsync(there, "far-pushed"));
        // The daemon there took it as a prebuilt system: it built nothing.
        Assert.Contains("using the prebuilt system " + system, pushed.Stdout);

        // Pushed again (the same system, prebuilt here): nothing travels.
        var again = await host.CliAsync("create", "far-again", "--system", system);
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Contains($"push: 0 of 2 paths copied to {host.Spec()}, 2 there already", again.Stdout);
        Assert.Equal(system, await SystemPathAsync(there, "far-again"));

        // update --nix: only the system of the current definition changes (autostart and stopTimeout stay), pushed likewise.
        var update = await host.CliAsync("update", "far-built", "--nix", nix, "--arg", "hostName", "far-built-" + run,
            "--arg", "variant", "2", "--arg", "busybox", Prerequisites.Busybox);
        Assert.True(update.ExitCode == 0, update.ToString());
        Assert.Contains($"push: 1 of 2 paths copied to {host.Spec()}, 1 there already", update.Stdout);
        string path = await there.GetContainerAsync("far-built");
        Assert.Equal(2u, (await there.GetPropertyAsync(path, "io.containerctl.ContainerD1.Container", "Generation")).GetUInt32());
        string definition = (await there.GetPropertyAsync(path, "io.containerctl.ContainerD1.Container", "Definition")).GetString();
        Assert.Contains("stopTimeout: 10s", definition);
        Assert.Matches(@"path: /nix/store/[a-z0-9]{32}-busybox-system-far-built-" + run + "-2", definition);
        Assert.DoesNotContain("nix:", definition);
        Assert.True((await there.GetPropertyAsync(path, "io.containerctl.ContainerD1.Container", "Autostart")).GetBool());
    }

    [Fact]
    public async Task A_flake_is_pushed_as_the_daemon_would_build_it_and_a_bad_build_or_option_creates_nothing_there()
    {
        await using var host = await SecondHost.StartAsync();
        using var there = await host.Daemon.ConnectAsync();
        string flake = await FlakeTests.WriteFlakeAsync(host.Dir);

        // PATH#NAME is nixosConfigurations.NAME.config.system.build.toplevel here too.
        var pushed = await host.CliAsync("create", "far-flake", "--flake", flake + "#sg-flake");
        Assert.True(pushed.ExitCode == 0, pushed.ToString());
        Assert.Contains($"{flake}#nixosConfigurations.sg-flake.config.system.build.toplevel", pushed.Stdout);
        Assert.Matches(@"^/nix/store/[a-z0-9]{32}-busybox-system-sg-flake-1$", await SystemPathAsync(there, "far-flake"));
        // Nothing of it was there: the system and the flake's source (its builder and busybox) both travel.
        Assert.Matches(@"push: (\d+) of \1 paths copied", pushed.Stdout);

        // A build that fails here: exit 1 with Nix's words, and the other host has nothing new.
        var failed = await host.CliAsync("create", "far-failed", "--nix", Repo.Fixture("busybox-system.nix"), "--arg", "failBuild", "1",
            "--arg", "hostName", "far-failed-" + Guid.NewGuid().ToString("N")[..8], "--arg", "busybox", Prerequisites.Busybox);
        Assert.Equal(1, failed.ExitCode);
        Assert.Matches(@"create far-failed: building the system here failed \(nix-build exit \d+\): .*failed", failed.Stderr);
        var bad = await host.CliAsync("create", "far-bad", "--nix", "/nonexistent/web.nix");
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains("/nonexistent/web.nix", bad.Stderr);
        Assert.Equal(["far-flake"], (await there.ListContainersAsync()).Select(c => c.Name));

        // --build-on is for -H, and takes local or remote; -f goes as it is, so it cannot be built here.
        var local = await Cli.RunAsync(["--bus", host.Daemon.Bus.Address, "create", "x", "--system", "/nix/store/x", "--build-on", "remote"]);
        Assert.Equal(2, local.ExitCode);
        Assert.Contains("--build-on goes with -H", local.Stderr);
        var sideways = await host.CliAsync("create", "x", "--system", "/nix/store/x", "--build-on", "sideways");
        Assert.Equal(2, sideways.ExitCode);
        var fileHere = await host.CliAsync("create", "x", "-f", "/dev/null", "--build-on", "local");
        Assert.Equal(2, fileHere.ExitCode);
        Assert.Contains("with -f the definition is sent as it is", fileHere.Stderr);
        var both = await host.CliAsync("update", "far-flake", "-f", "/dev/null", "--system", "/nix/store/x");
        Assert.Equal(2, both.ExitCode);
    }

    private static async Task<string> SystemPathAsync(ContainerD.Contract.ContainerDClient client, string name) =>
        (await client.GetPropertyAsync(await client.GetContainerAsync(name), "io.containerctl.ContainerD1.Container", "SystemPath")).GetString();
}
