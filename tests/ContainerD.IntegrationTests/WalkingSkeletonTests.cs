using System.Text;
using ContainerD.Contract;
using ContainerD.Domain.Configuration;
using ContainerD.IntegrationTests.Harness;
using Tmds.DBus.Protocol;

namespace ContainerD.IntegrationTests;

/// <summary>
/// A real unprivileged container, built with Nix, created and started over D-Bus: the facts are
/// read from the host (/proc, the file system) and from inside the container.
/// </summary>
public sealed class WalkingSkeletonTests
{
    [Fact]
    public async Task Container_built_with_Nix_runs_unprivileged_with_a_read_only_store_and_leaves_nothing_after_destroy()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        using var client = await daemon.ConnectAsync();

        var created = await client.RunJobAsync(c => c.CreateContainerAsync("web", DaemonUnderTest.NixDefinition("web")));
        Assert.True(created.Succeeded, created.Message);
        var started = await client.RunJobAsync(c => c.StartContainerAsync("web"));
        Assert.True(started.Succeeded, started.Message);

        var row = Assert.Single(await client.ListContainersAsync());
        Assert.Equal(("web", "running"), (row.Name, row.State));
        Assert.True(row.LeaderPid > 0);
        Assert.True(row.UidBase >= DaemonConfig.DefaultIdPool.Start, $"uid base {row.UidBase} is below the pool");
        Assert.Equal(65536u, row.UidSize);
        Assert.Equal(1u, row.Generation);

        // State is root's alone; the rootfs belongs to the container's root, not to host root.
        string stateDir = Path.Combine(daemon.StateDir, "containers", "web");
        foreach (string file in new[] { Path.Combine(stateDir, "state.json"), Path.Combine(stateDir, "container.yaml"), Path.Combine(daemon.LxcPath, "web", "config") })
        {
            Assert.Equal((UnixFileMode)0b110_000_000, File.GetUnixFileMode(file));
            Assert.Equal(0, HostFacts.OwnerOf(file));
        }
        // Only the container's root (by group) gets through to its rootfs; other host users do not.
        Assert.Equal((UnixFileMode)0b111_001_000, File.GetUnixFileMode(stateDir));
        Assert.Equal(0, HostFacts.OwnerOf(stateDir));
        Assert.Equal(row.UidBase, HostFacts.GroupOf(stateDir));
        string rootfs = Path.Combine(stateDir, "rootfs");
        Assert.Equal((UnixFileMode)0b111_101_101, File.GetUnixFileMode(rootfs));
        Assert.Equal(row.UidBase, HostFacts.OwnerOf(rootfs));
        Assert.Equal(row.UidBase, HostFacts.OwnerOf(Path.Combine(rootfs, "etc")));

        // The container's init runs on the host as the range's base uid, never as root.
        long hostUid = HostFacts.UidOf((int)row.LeaderPid);
        Assert.Equal(row.UidBase, hostUid);
        Assert.NotEqual(0, hostUid);

        // Inside it is root, mapped onto the range.
        var uidMap = await client.RunCommandAsync(row.Path, ["cat", "/proc/self/uid_map"], new Dictionary<string, string>());
        Assert.Equal(0, uidMap.ExitCode);
        Assert.Equal(["0", row.UidBase.ToString(), "65536"], Encoding.UTF8.GetString(uidMap.Stdout).Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

        // The store is read-only inside, even for the container's root.
        var write = await client.RunCommandAsync(row.Path, ["touch", "/nix/store/written-from-a-container"], new Dictionary<string, string>());
        Assert.NotEqual(0, write.ExitCode);
        Assert.Contains("Read-only file system", Encoding.UTF8.GetString(write.Stderr));
        Assert.False(File.Exists("/nix/store/written-from-a-container"));

        // The profile inside resolves to the system Nix built, which the daemon reports.
        var properties = await client.GetAllPropertiesAsync(row.Path, Names.ContainerInterface);
        string systemPath = properties["SystemPath"].GetString();
        Assert.StartsWith("/nix/store/", systemPath);
        Assert.EndsWith("-busybox-system-web-1", systemPath);
        var profile = await client.RunCommandAsync(row.Path, ["readlink", "-f", "/nix/var/nix/profiles/system"], new Dictionary<string, string>());
        Assert.Equal(systemPath, Encoding.UTF8.GetString(profile.Stdout).Trim());
        Assert.Equal(systemPath, new FileInfo(Path.Combine(daemon.ProfilesDir, "web", "system")).ResolveLinkTarget(true)!.FullName);

        var stopped = await client.RunJobAsync(c => c.StopContainerAsync("web", false));
        Assert.True(stopped.Succeeded, stopped.Message);
        Assert.Equal("stopped", Assert.Single(await client.ListContainersAsync()).State);
        Assert.False(HostFacts.ProcessExists((int)row.LeaderPid));

        var destroyed = await client.RunJobAsync(c => c.DestroyContainerAsync("web"));
        Assert.True(destroyed.Succeeded, destroyed.Message);
        Assert.Empty(await client.ListContainersAsync());
        Assert.False(Directory.Exists(Path.Combine(daemon.LxcPath, "web")), "LXC dir left behind");
        Assert.False(Directory.Exists(Path.Combine(daemon.StateDir, "containers", "web")), "state dir left behind");
        Assert.False(Directory.Exists(Path.Combine(daemon.ProfilesDir, "web")), "profile left behind");
        var (_, lxcInfo, _) = await Programs.Run("lxc-ls", "-P", daemon.LxcPath);
        Assert.Equal("", lxcInfo.Trim());

        // The range is free again: the next container gets the same one.
        var again = await client.RunJobAsync(c => c.CreateContainerAsync("web2", DaemonUnderTest.NixDefinition("web2", hostName: "web")));
        Assert.True(again.Succeeded, again.Message);
        Assert.Equal(row.UidBase, Assert.Single(await client.ListContainersAsync()).UidBase);
    }

    [Fact]
    public async Task Two_containers_get_disjoint_ranges_and_run_side_by_side()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        using var client = await daemon.ConnectAsync();
        foreach (string name in new[] { "alpha", "beta" })
        {
            var created = await client.RunJobAsync(c => c.CreateContainerAsync(name, DaemonUnderTest.NixDefinition(name, hostName: "shared")));
            Assert.True(created.Succeeded, created.Message);
            var started = await client.RunJobAsync(c => c.StartContainerAsync(name));
            Assert.True(started.Succeeded, started.Message);
        }
        var rows = await client.ListContainersAsync();
        Assert.Equal(["alpha", "beta"], rows.Select(r => r.Name));
        Assert.All(rows, r => Assert.Equal("running", r.State));
        var (a, b) = (rows[0], rows[1]);
        Assert.True(a.UidBase + a.UidSize <= b.UidBase || b.UidBase + b.UidSize <= a.UidBase, $"{a.UidBase}+{a.UidSize} overlaps {b.UidBase}+{b.UidSize}");
        Assert.Equal(a.UidBase, HostFacts.UidOf((int)a.LeaderPid));
        Assert.Equal(b.UidBase, HostFacts.UidOf((int)b.LeaderPid));
    }

    [Fact]
    public async Task A_bad_definition_over_DBus_is_a_named_error_and_creates_nothing()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        using var client = await daemon.ConnectAsync();

        var error = await Assert.ThrowsAsync<DBusErrorReplyException>(() =>
            client.CreateContainerAsync("web", "name: web\nsystem:\n  path: /nix/store/x\nidmap:\n  size: 1000\n"));
        Assert.Equal("io.containerctl.ContainerD1.Error.InvalidDefinition", error.ErrorName);
        Assert.Contains("idmap.size", error.ErrorMessage);
        Assert.Contains(":5:", error.ErrorMessage); // the line of the bad value

        var badName = await Assert.ThrowsAsync<DBusErrorReplyException>(() => client.CreateContainerAsync("../etc", "system: { path: /nix/store/x }"));
        Assert.Equal("io.containerctl.ContainerD1.Error.InvalidName", badName.ErrorName);

        var missing = await Assert.ThrowsAsync<DBusErrorReplyException>(() => client.StartContainerAsync("nothere"));
        Assert.Equal("io.containerctl.ContainerD1.Error.NoSuchContainer", missing.ErrorName);

        Assert.Empty(await client.ListContainersAsync());
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(daemon.StateDir, "containers")));
        Assert.False(Directory.Exists(daemon.ProfilesDir) && Directory.EnumerateFileSystemEntries(daemon.ProfilesDir).Any());
    }

    [Fact]
    public async Task A_failing_Nix_build_fails_the_job_with_the_builders_error_and_leaves_nothing()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        using var client = await daemon.ConnectAsync();
        string yaml = DaemonUnderTest.NixDefinition("broken", args: new Dictionary<string, string> { ["failBuild"] = "1" });
        var end = await client.RunJobAsync(c => c.CreateContainerAsync("broken", yaml));
        Assert.Equal(JobResults.Failed, end.Result);
        Assert.Contains("this system does not build", end.Message);
        Assert.Empty(await client.ListContainersAsync());
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(daemon.StateDir, "containers")));
        Assert.False(Directory.Exists(Path.Combine(daemon.ProfilesDir, "broken")));
    }
}
