using ContainerD.IntegrationTests.Harness;

namespace ContainerD.IntegrationTests;

/// <summary>
/// The container's files seen from the host: other host users cannot read them, the daemon's
/// modes do not depend on its umask, and a bind source it creates cannot be redirected by a link.
/// </summary>
public sealed class HostFilesystemTests
{
    private const UnixFileMode Dir755 = (UnixFileMode)0b111_101_101;

    [Fact]
    public async Task Other_host_users_cannot_read_a_containers_files()
    {
        await TestUsers.EnsureAsync(TestUsers.Outsider);
        await using var daemon = await DaemonUnderTest.StartAsync();
        using var client = await daemon.ConnectAsync();
        Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync("private", DaemonUnderTest.NixDefinition("private", hostName: "attack")))).Succeeded);
        Assert.True((await client.RunJobAsync(c => c.StartContainerAsync("private"))).Succeeded);
        var wrote = await daemon.CliAsync("run", "private", "--", "sh", "-c", "echo TOKEN=secret > /root/.env && chmod 644 /root/.env && ls -ld / /root");
        Assert.True(wrote.ExitCode == 0, wrote.ToString());
        Assert.Matches(@"^drwxr-xr-x", wrote.Stdout); // inside, / stays 0755 for its own users

        string rootfs = Path.Combine(daemon.StateDir, "containers", "private", "rootfs");
        Assert.Equal("TOKEN=secret\n", await File.ReadAllTextAsync(Path.Combine(rootfs, "root", ".env"))); // host root can
        foreach (var argv in new[] { new[] { "cat", Path.Combine(rootfs, "root", ".env") }, ["ls", rootfs], ["ls", Path.GetDirectoryName(rootfs)!] })
        {
            var (exit, stdout, stderr) = await Programs.Run("setpriv", [.. TestUsers.As(TestUsers.Outsider)[1..], .. argv]);
            Assert.True(exit != 0, $"{TestUsers.Outsider} ran {string.Join(' ', argv)}: {stdout}");
            Assert.Contains("Permission denied", stderr);
        }
    }

    [Fact]
    public async Task Under_umask_077_as_the_shipped_unit_sets_it_new_containers_boot_and_their_dirs_are_0755()
    {
        // The shell sets the umask and becomes the daemon; the daemon's argv stays argv ("$@").
        await using var daemon = await DaemonUnderTest.StartAsync(wrapper: ["sh", "-c", "umask 077 && exec \"$@\"", "sh"]);
        string source = Path.Combine(daemon.Dir, "made", "a", "b");
        using var client = await daemon.ConnectAsync();
        string mounts = $"bindMounts: [ {{ host: {source}, container: /data/deep, readOnly: false, create: true }} ]\n";
        Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync("masked", DaemonUnderTest.NixDefinition("masked", hostName: "attack", extra: mounts)))).Succeeded);
        var start = await client.RunJobAsync(c => c.StartContainerAsync("masked"));
        Assert.True(start.Succeeded, start.Message);
        var run = await daemon.CliAsync("run", "masked", "--", "sh", "-c", "touch /data/deep/ok && ls -ld /nix/var/nix/profiles /data /data/deep");
        Assert.True(run.ExitCode == 0, run.ToString());

        Assert.Equal(Dir755, File.GetUnixFileMode(Path.Combine(daemon.ProfilesDir, "masked")));
        foreach (string dir in new[] { Path.Combine(daemon.Dir, "made"), Path.Combine(daemon.Dir, "made", "a"), source })
        {
            Assert.Equal(Dir755, File.GetUnixFileMode(dir));
        }
        Assert.Equal(0, HostFacts.OwnerOf(Path.Combine(daemon.Dir, "made", "a"))); // parents are root's
        long containerRoot = Assert.Single(await client.ListContainersAsync()).UidBase;
        Assert.Equal(containerRoot, HostFacts.OwnerOf(source)); // the writable source is the container's root's
        Assert.Equal(containerRoot, HostFacts.OwnerOf(Path.Combine(source, "ok")));
    }

    [Fact]
    public async Task Create_true_never_follows_a_symlink_planted_in_a_world_writable_parent()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        string shared = Path.Combine(daemon.Dir, "shared"), elsewhere = Path.Combine(daemon.Dir, "elsewhere");
        Directory.CreateDirectory(shared);
        File.SetUnixFileMode(shared, (UnixFileMode)0b1_111_111_111); // like /tmp
        Directory.CreateDirectory(elsewhere); // stands for /etc
        File.CreateSymbolicLink(Path.Combine(shared, "app"), elsewhere); // planted by any local user
        using var client = await daemon.ConnectAsync();
        string mounts = $"bindMounts: [ {{ host: {shared}/app/data, container: /data, readOnly: false, create: true }} ]\n";
        Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync("planted", DaemonUnderTest.NixDefinition("planted", hostName: "attack", extra: mounts)))).Succeeded);

        var start = await client.RunJobAsync(c => c.StartContainerAsync("planted"));
        Assert.False(start.Succeeded, "the start followed the planted link");
        Assert.Contains("symbolic link", start.Message);
        Assert.Empty(Directory.EnumerateFileSystemEntries(elsewhere));
    }
}
