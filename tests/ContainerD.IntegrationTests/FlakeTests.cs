using ContainerD.IntegrationTests.Harness;

namespace ContainerD.IntegrationTests;

/// <summary>Systems from a flake, built by the host's Nix with the flakes feature, offline.</summary>
public sealed class FlakeTests
{
    [Fact]
    public async Task Create_with_a_flake_builds_its_nixos_configuration_and_update_takes_an_attribute_path()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        string flake = await WriteFlakeAsync(daemon.Dir);

        // --flake PATH#NAME: nixosConfigurations.NAME.config.system.build.toplevel, as nixos-container does.
        var create = await daemon.CliAsync("create", "sg-flake", "--flake", flake + "#sg-flake", "--start");
        Assert.True(create.ExitCode == 0, create.ToString());
        Assert.Contains($"building the system from the flake {flake}#nixosConfigurations.sg-flake.config.system.build.toplevel", create.Stdout);
        Assert.Contains("building system 'sg-flake' variant 1", create.Stdout); // the build's own log
        var status = await daemon.CliAsync("status", "sg-flake");
        Assert.Matches(@"System: /nix/store/[a-z0-9]{32}-busybox-system-sg-flake-1\n", status.Stdout);
        await Eventually.TrueAsync(async () => (await daemon.CliAsync("logs", "sg-flake")).Stdout.Contains("init: system sg-flake variant 1 up"),
            "the flake's system booting");
        // The daemon only reads the flake: no lock file is written into the user's directory.
        Assert.False(File.Exists(Path.Combine(flake, "flake.lock")));

        // A fragment with a dot is the attribute itself; the new generation is switched to.
        string yaml = Path.Combine(daemon.Dir, "sg-flake.yaml");
        await File.WriteAllTextAsync(yaml, $"name: sg-flake\nsystem: {{ flake: \"{flake}#packages.x86_64-linux.second\" }}\nactivation: switch\n");
        var update = await daemon.CliAsync("update", "sg-flake", "-f", yaml);
        Assert.True(update.ExitCode == 0, update.ToString());
        Assert.Contains("switch-to-configuration switch: now running variant 2", update.Stdout);
        Assert.Contains("Generation: 2", (await daemon.CliAsync("status", "sg-flake")).Stdout);

        // A flake that does not evaluate fails the job with Nix's message; nothing is created.
        var missing = await daemon.CliAsync("create", "sg-noflake", "--flake", flake + "#nosuch");
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("nixosConfigurations.nosuch", missing.Stderr);
        Assert.DoesNotContain("sg-noflake", (await daemon.CliAsync("list")).Stdout);
    }

    /// <summary>
    /// A path flake with no inputs: the busybox example's builder and the host's static busybox
    /// copied beside flake.nix (pure evaluation reads nothing outside the flake).
    /// </summary>
    internal static async Task<string> WriteFlakeAsync(string dir)
    {
        string flake = Path.Combine(dir, "flake");
        Directory.CreateDirectory(flake);
        File.Copy(Prerequisites.Busybox, Path.Combine(flake, "busybox"));
        File.Copy(Repo.Fixture("build-busybox-system.sh"), Path.Combine(flake, "build.sh"));
        await File.WriteAllTextAsync(Path.Combine(flake, "flake.nix"), """
            {
              description = "ContainerD test: busybox systems from a path flake without inputs";
              outputs = { self }:
                let
                  system = hostName: variant: derivation {
                    name = "busybox-system-${hostName}-${variant}";
                    system = "x86_64-linux";
                    builder = "${self}/busybox";
                    args = [ "sh" "-e" "${self}/build.sh" ];
                    busybox = "${self}/busybox";
                    inherit hostName variant;
                    buildDelay = "0"; failSwitch = "0"; failBuild = "0";
                    # Unique per test run: Nix really builds (and logs) it even where a run before built this flake.
                    run = "@RUN@";
                  };
                in {
                  nixosConfigurations.sg-flake.config.system.build.toplevel = system "sg-flake" "1";
                  packages.x86_64-linux.second = system "sg-flake" "2";
                };
            }
            """.Replace("@RUN@", Guid.NewGuid().ToString("N"), StringComparison.Ordinal));
        return flake;
    }
}
