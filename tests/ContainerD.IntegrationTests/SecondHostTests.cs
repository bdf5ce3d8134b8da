using ContainerD.IntegrationTests.Harness;

namespace ContainerD.IntegrationTests;

/// <summary>
/// The second host the remote tests stand on (ContainerD.Testing.SecondHost) is another host in what
/// matters — its store, its /etc, its daemon, reached only through its sshd on loopback — and leaves
/// nothing behind.
/// </summary>
public sealed class SecondHostTests
{
    [Fact]
    public async Task The_second_host_has_its_own_store_etc_and_daemon_reached_over_ssh_on_loopback_and_leaves_nothing_behind()
    {
        string system = await Systems.BuildAsync("here-only");
        string user = "ctd-host-" + Guid.NewGuid().ToString("N")[..6];
        string dir;
        int anchor;
        string sshHomeBefore = Directory.Exists("/root/.ssh") ? string.Join(",", Directory.EnumerateFileSystemEntries("/root/.ssh")) : "absent";
        await using (var host = await SecondHost.StartAsync())
        {
            dir = host.Dir;
            anchor = host.NamespacePid;

            // Its own store and database: what this machine built is not there, what it builds is not here.
            Assert.Empty(await host.ValidPathsAsync([system]));
            string there = (await host.RunCheckedAsync("nix-store", "--add", Prerequisites.Busybox)).Trim();
            Assert.NotEqual(0, (await Programs.Run("nix-store", "--check-validity", there)).ExitCode);
            Assert.StartsWith(host.NixDir, new DirectoryInfo(Path.Combine(host.NixDir, "store", Path.GetFileName(there))).FullName, StringComparison.Ordinal);

            // Its own /etc: a user made there is unknown here.
            await host.AddLoginUserAsync(user);
            Assert.Equal(0, (await host.RunAsync("id", user)).ExitCode);
            Assert.NotEqual(0, (await Programs.Run("id", user)).ExitCode);

            // Its sshd listens on loopback only, and its sessions run inside the host, with containerctl on the PATH.
            Assert.All(await ListeningAddressesAsync(host.Port), address => Assert.Equal("127.0.0.1", address));
            var (exit, stdout, stderr) = await Programs.Run("ssh", "-F", host.SshConfig, "-p", host.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "root@127.0.0.1", "--", "nix-store", "--check-validity", there, "&&", "command", "-v", "containerctl", "&&", "id", "-un", user);
            Assert.True(exit == 0, $"{stderr}\n{host.SshdLog}");
            Assert.EndsWith($"{host.BinDir}/containerctl\n{user}\n", stdout, StringComparison.Ordinal);

            // A build there and one here at once both finish: the two stores share no build user (Nix
            // kills whatever runs as a build user before it builds as it, and both would take nixbld1).
            string unique = Guid.NewGuid().ToString("N")[..8];
            var buildHere = Programs.Run("nix-build", Repo.Fixture("busybox-system.nix"), "--no-out-link", "--argstr", "hostName", "here-" + unique,
                "--argstr", "buildDelay", "3", "--argstr", "busybox", Prerequisites.Busybox);
            var buildThere = host.RunAsync("nix-build", Repo.Fixture("busybox-system.nix"), "--no-out-link", "--argstr", "hostName", "there-" + unique,
                "--argstr", "buildDelay", "3", "--argstr", "busybox", Prerequisites.Busybox);
            foreach (var build in await Task.WhenAll(buildHere, buildThere))
            {
                Assert.True(build.ExitCode == 0, build.Stderr);
            }

            // Its daemon runs inside it: a container it creates is built into its store.
            using var client = await host.Daemon.ConnectAsync();
            var created = await client.RunJobAsync(c => c.CreateContainerAsync("second-only", DaemonUnderTest.NixDefinition("second-only")));
            Assert.True(created.Succeeded, created.Message);
            string built = (await client.GetPropertyAsync(await client.GetContainerAsync("second-only"), "io.containerctl.ContainerD1.Container", "SystemPath")).GetString();
            Assert.Single(await host.ValidPathsAsync([built]));
            Assert.NotEqual(0, (await Programs.Run("nix-store", "--check-validity", built)).ExitCode);
        }

        // Nothing left: no process in its namespace, no directory, no ssh state of root's.
        Assert.False(Directory.Exists(dir));
        Assert.False(Directory.Exists($"/proc/{anchor}") && File.ReadAllText($"/proc/{anchor}/comm").Trim() == "cat");
        Assert.Equal(sshHomeBefore, Directory.Exists("/root/.ssh") ? string.Join(",", Directory.EnumerateFileSystemEntries("/root/.ssh")) : "absent");
        Assert.DoesNotContain(File.ReadLines("/proc/self/mountinfo"), l => l.Contains(dir, StringComparison.Ordinal));
    }

    /// <summary>The local addresses something listens on at that TCP port (ss).</summary>
    private static async Task<List<string>> ListeningAddressesAsync(int port)
    {
        string output = await Programs.RunChecked("ss", "-Hltn", $"sport = :{port}");
        var addresses = output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[3])
            .Select(local => local[..local.LastIndexOf(':')])
            .ToList();
        Assert.NotEmpty(addresses);
        return addresses;
    }
}
