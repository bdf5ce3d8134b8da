using System.Text.Json;
using ContainerD.Contract;

namespace ContainerD.IntegrationTests.Harness;

/// <summary>
/// What must hold after any crash and restart, read from the disk and from the daemon: every
/// container exists whole in every place or in none, state agrees with the profile, ranges are
/// disjoint, nothing half-made is left over.
/// </summary>
public static class Invariants
{
    public static async Task AssertHoldAsync(DaemonUnderTest daemon, ContainerDClient client)
    {
        string containersDir = Path.Combine(daemon.StateDir, "containers");
        var stateDirs = Names(containersDir);
        var lxcDirs = Names(daemon.LxcPath).Where(n => File.Exists(Path.Combine(daemon.LxcPath, n, "config")) || Directory.Exists(Path.Combine(daemon.LxcPath, n))).ToHashSet();
        var profileDirs = Names(daemon.ProfilesDir);

        Assert.Equal(stateDirs.Order(), lxcDirs.Order());
        Assert.Equal(stateDirs.Order(), profileDirs.Order());

        var ranges = new List<(string Name, long Start, long End)>();
        foreach (string name in stateDirs)
        {
            string dir = Path.Combine(containersDir, name);
            using var state = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(dir, "state.json")));
            var root = state.RootElement;
            Assert.Equal("ready", root.GetProperty("phase").GetString());
            Assert.True(File.Exists(Path.Combine(dir, "container.yaml")), $"{name}: container.yaml missing");
            Assert.False(File.Exists(Path.Combine(dir, "container.yaml.pending")), $"{name}: a pending definition was left");
            Assert.False(File.Exists(Path.Combine(dir, "build-result")) || Directory.Exists(Path.Combine(dir, "build-result")), $"{name}: a build link was left");
            Assert.True(Directory.Exists(Path.Combine(dir, "rootfs")), $"{name}: rootfs missing");
            Assert.True(File.Exists(Path.Combine(daemon.LxcPath, name, "config")), $"{name}: LXC config missing");
            string link = new FileInfo(Path.Combine(daemon.ProfilesDir, name, "system")).LinkTarget ?? "";
            Assert.Equal($"system-{root.GetProperty("generation").GetInt32()}-link", link);
            long start = root.GetProperty("uidBase").GetInt64();
            ranges.Add((name, start, start + root.GetProperty("uidSize").GetInt64()));
        }
        foreach (var a in ranges)
        {
            foreach (var b in ranges.Where(b => b.Name != a.Name))
            {
                Assert.False(a.Start < b.End && b.Start < a.End, $"ranges of {a.Name} and {b.Name} overlap");
            }
        }

        var listed = await client.ListContainersAsync();
        Assert.Equal(stateDirs.Order(), listed.Select(r => r.Name).Order());
        foreach (var row in listed)
        {
            Assert.Equal(ranges.Single(r => r.Name == row.Name).Start, row.UidBase);
        }
    }

    private static HashSet<string> Names(string dir) =>
        Directory.Exists(dir) ? Directory.EnumerateDirectories(dir).Select(d => Path.GetFileName(d)!).ToHashSet() : [];
}
