using ContainerD.Domain.Configuration;
using ContainerD.Domain.IdMapping;
using ContainerD.IntegrationTests.Harness;

namespace ContainerD.IntegrationTests;

/// <summary>
/// ContainerD on a host that later gains users: the default pool must leave useradd the subordinate
/// ids it hands out. Each test runs its daemon under tests/private-etc.sh with its own overlay /etc,
/// seeded as a fresh host's, so useradd and the daemon's subuid edits never reach the host.
/// </summary>
public sealed class HostAccountsTests : IDisposable
{
    private readonly string _layers = Path.Combine(Path.GetTempPath(), "ctd-host-etc-" + Guid.NewGuid().ToString("N")[..8]);

    /// <summary>/etc/subuid and /etc/subgid as on a host without ContainerD: the host's lines, root's dropped (or given ones).</summary>
    private static void SeedSubIds(string upper, string? rootLines = null)
    {
        Directory.CreateDirectory(upper);
        foreach (string file in new[] { "subuid", "subgid" })
        {
            var lines = File.Exists("/etc/" + file) ? File.ReadAllLines("/etc/" + file) : [];
            var kept = lines.Where(l => !l.StartsWith("root:", StringComparison.Ordinal) && !l.StartsWith("0:", StringComparison.Ordinal));
            string path = Path.Combine(upper, file);
            File.WriteAllText(path, string.Concat(kept.Select(l => l + "\n")) + (rootLines ?? ""));
            File.SetUnixFileMode(path, (UnixFileMode)0b110_100_100);
        }
    }

    /// <summary>A file as the daemon's mount namespace (its own /etc) has it.</summary>
    private static string EtcOf(DaemonUnderTest daemon, string file) => File.ReadAllText($"/proc/{daemon.Pid}/root/etc/{file}");

    private static IdRange RangeOf(string subIdText, string owner) =>
        new SubIdFile(subIdText).Entries.Single(e => e.Owner == owner).Range;

    [Fact]
    public async Task With_the_default_pool_useradd_still_works_and_gives_ids_no_container_has()
    {
        SeedSubIds(Path.Combine(_layers, "upper"));
        await using var daemon = await DaemonUnderTest.StartAsync(wrapper: [PrivateEtc.Script, "--upper", _layers, "--"]);
        using var client = await daemon.ConnectAsync();
        Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync("early", DaemonUnderTest.NixDefinition("early")))).Succeeded);
        var start = await client.RunJobAsync(c => c.StartContainerAsync("early"));
        Assert.True(start.Succeeded, start.Message + "\n" + daemon.Output);
        var container = Assert.Single(await client.ListContainersAsync());
        var ids = new IdRange(container.UidBase, container.UidSize);
        Assert.True(DaemonConfig.DefaultIdPool.Contains(ids), $"{ids} is not from the default pool");

        // The daemon made root own its pool, and nothing else.
        Assert.Equal(DaemonConfig.DefaultIdPool, RangeOf(EtcOf(daemon, "subuid"), "root"));
        Assert.Equal(DaemonConfig.DefaultIdPool, RangeOf(EtcOf(daemon, "subgid"), "root"));

        // A new user, as an admin would add one after installing ContainerD.
        var useradd = await Programs.Run("nsenter", $"--mount=/proc/{daemon.Pid}/ns/mnt", "--", "useradd", "--no-create-home", "ctd-test-newcomer");
        Assert.True(useradd.ExitCode == 0, $"useradd failed ({useradd.ExitCode}): {useradd.Stderr}");
        var uids = RangeOf(EtcOf(daemon, "subuid"), "ctd-test-newcomer");
        var gids = RangeOf(EtcOf(daemon, "subgid"), "ctd-test-newcomer");
        Assert.False(uids.Overlaps(ids), $"the new user's uids {uids} overlap the container's {ids}");
        Assert.False(gids.Overlaps(ids), $"the new user's gids {gids} overlap the container's {ids}");
        Assert.False(uids.Overlaps(DaemonConfig.DefaultIdPool) || gids.Overlaps(DaemonConfig.DefaultIdPool), $"{uids}/{gids} lie in the pool");

        // A second container still gets ids nobody else has, the new user's included.
        Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync("late", DaemonUnderTest.NixDefinition("late")))).Succeeded);
        var late = (await client.ListContainersAsync()).Single(c => c.Name == "late");
        var lateIds = new IdRange(late.UidBase, late.UidSize);
        Assert.False(lateIds.Overlaps(ids) || lateIds.Overlaps(uids) || lateIds.Overlaps(gids));
    }

    [Fact]
    public async Task A_host_with_the_old_default_pool_keeps_its_containers_ranges()
    {
        // Before December 2026: the pool 100000 + 1e9 (written in config.yaml, or the default then)
        // and root's line for it; a container made from it.
        var oldPool = new IdRange(100_000, 1_000_000_000);
        const string OldLine = "root:100000:1000000000\n";
        var veteranIds = new IdRange(100_000, 65536);
        await using var daemon = await DaemonUnderTest.StartAsync("idPool: { base: 100000, size: 1000000000 }", wrapper: Phase(1, OldLine));
        using (var client = await daemon.ConnectAsync())
        {
            Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync("veteran", DaemonUnderTest.NixDefinition("veteran")))).Succeeded);
            Assert.Equal((veteranIds.Start, veteranIds.Count), ((long)(await client.ListContainersAsync())[0].UidBase, (long)(await client.ListContainersAsync())[0].UidSize));
        }
        await daemon.KillAsync();

        // Upgraded, config.yaml without idPool (the new default), the old line still in /etc/subuid.
        File.WriteAllText(daemon.ConfigFile, File.ReadAllText(daemon.ConfigFile).Replace("idPool: { base: 100000, size: 1000000000 }", "", StringComparison.Ordinal));
        await daemon.StartProcessAsync(wrapper: Phase(2, OldLine));
        using (var client = await daemon.ConnectAsync())
        {
            var veteran = Assert.Single(await client.ListContainersAsync());
            Assert.Equal((veteranIds.Start, veteranIds.Count), ((long)veteran.UidBase, (long)veteran.UidSize));
            var start = await client.RunJobAsync(c => c.StartContainerAsync("veteran"));
            Assert.True(start.Succeeded, start.Message);
            Assert.Equal(veteranIds.Start, HostFacts.UidOf((int)(await client.ListContainersAsync())[0].LeaderPid));
            Assert.True((await client.RunJobAsync(c => c.StopContainerAsync("veteran", force: true))).Succeeded);
            Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync("rookie", DaemonUnderTest.NixDefinition("rookie")))).Succeeded);
            var rookie = (await client.ListContainersAsync()).Single(c => c.Name == "rookie");
            Assert.True(DaemonConfig.DefaultIdPool.Contains(new IdRange(rookie.UidBase, rookie.UidSize)));
        }
        // The old line left as it was, the new pool's added beside it, and a warning about useradd.
        Assert.Equal([oldPool, DaemonConfig.DefaultIdPool], RootRanges(EtcOf(daemon, "subuid")));
        await daemon.AssertLoggedAsync("takes ids useradd hands out");
        await daemon.KillAsync();

        // The admin deletes the old line to give useradd its range back: at its next start the daemon
        // adds exactly the veteran's range, the veteran still starts, and useradd works.
        await daemon.StartProcessAsync(wrapper: Phase(3, $"root:{DaemonConfig.DefaultIdPool.Start}:{DaemonConfig.DefaultIdPool.Count}\n"));
        Assert.Equal([DaemonConfig.DefaultIdPool, veteranIds], RootRanges(EtcOf(daemon, "subuid")));
        Assert.Equal([DaemonConfig.DefaultIdPool, veteranIds], RootRanges(EtcOf(daemon, "subgid")));
        using (var client = await daemon.ConnectAsync())
        {
            var start = await client.RunJobAsync(c => c.StartContainerAsync("veteran"));
            Assert.True(start.Succeeded, start.Message);
        }
        var useradd = await Programs.Run("nsenter", $"--mount=/proc/{daemon.Pid}/ns/mnt", "--", "useradd", "--no-create-home", "ctd-test-newcomer");
        Assert.True(useradd.ExitCode == 0, $"useradd failed ({useradd.ExitCode}): {useradd.Stderr}");
        Assert.False(RangeOf(EtcOf(daemon, "subuid"), "ctd-test-newcomer").Overlaps(veteranIds));
    }

    private static List<IdRange> RootRanges(string subIdText) =>
        new SubIdFile(subIdText).Entries.Where(e => e.Owner == "root").Select(e => e.Range).ToList();

    /// <summary>
    /// A fresh overlay for one daemon start, seeded with root's given lines: a daemon killed earlier
    /// leaves its namespace (and overlay) behind while its lxc-monitor or a container lives, and two
    /// overlays must not share layers.
    /// </summary>
    private string[] Phase(int phase, string rootLines)
    {
        string layers = Path.Combine(_layers, $"phase{phase}");
        SeedSubIds(Path.Combine(layers, "upper"), rootLines);
        return [PrivateEtc.Script, "--upper", layers, "--"];
    }

    public void Dispose()
    {
        if (Directory.Exists(_layers))
        {
            Directory.Delete(_layers, recursive: true);
        }
    }
}
