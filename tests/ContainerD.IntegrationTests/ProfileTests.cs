using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using ContainerD.Contract;
using ContainerD.IntegrationTests.Harness;
using ContainerD.Os.Nix;
using Tmds.DBus.Protocol;

namespace ContainerD.IntegrationTests;

/// <summary>System profiles: generations, update, rollback and live activation, with real Nix builds.</summary>
public sealed class ProfileTests
{
    private static readonly Dictionary<string, string> NoEnv = [];

    private static async Task<string> Inside(ContainerDClient client, string path, params string[] argv)
    {
        var result = await client.RunCommandAsync(path, argv, NoEnv);
        Assert.True(result.ExitCode == 0, Encoding.UTF8.GetString(result.Stderr));
        return Encoding.UTF8.GetString(result.Stdout).Trim();
    }

    [Fact]
    public async Task Update_switches_a_running_container_in_place_and_rollback_returns_to_generation_1()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        using var client = await daemon.ConnectAsync();
        Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync("app", DaemonUnderTest.NixDefinition("app", "1", "activation: switch")))).Succeeded);
        Assert.True((await client.RunJobAsync(c => c.StartContainerAsync("app"))).Succeeded);
        string path = await client.GetContainerAsync("app");
        uint pid = (await client.ListContainersAsync())[0].LeaderPid;
        Assert.Equal("1", await Inside(client, path, "cat", "/nix/var/nix/profiles/system/etc/variant"));

        // PropertiesChanged must tell watchers about the new generation.
        var changes = new ConcurrentQueue<string>();
        using var watch = await client.Connection.WatchSignalAsync(null, path, Names.PropertiesInterface, "PropertiesChanged",
            static (Message m, object? _) => m.GetBodyReader() is var r ? (r.ReadString(), r.ReadDictionaryOfStringToVariantValue()) : default,
            (Notification<(string, Dictionary<string, VariantValue>)> n) =>
            {
                if (n.HasValue && n.Value.Item2.TryGetValue("Generation", out var g))
                {
                    changes.Enqueue(g.GetUInt32().ToString());
                }
            }, ObserverFlags.None, emitOnCapturedContext: false);

        var update = await client.RunJobAsync(c => c.UpdateContainerAsync("app", DaemonUnderTest.NixDefinition("app", "2", "activation: switch")));
        Assert.True(update.Succeeded, update.Message);
        var row = (await client.ListContainersAsync())[0];
        Assert.Equal(2u, row.Generation);
        Assert.Equal(pid, row.LeaderPid); // switched in place: same init
        Assert.Equal("2", await Inside(client, path, "cat", "/nix/var/nix/profiles/system/etc/variant"));
        string activationLog = await Inside(client, path, "cat", "/var/lib/activation/log");
        Assert.Matches(@"^switch /nix/store/\S+-busybox-system-app-2$", activationLog);
        await Eventually.TrueAsync(() => changes.Contains("2"), "PropertiesChanged(Generation=2)");

        var generations = await client.ListGenerationsAsync("app");
        Assert.Equal([1u, 2u], generations.Select(g => g.Number));
        Assert.True(generations[1].Current);

        var rollback = await client.RunJobAsync(c => c.RollbackContainerAsync("app", 0));
        Assert.True(rollback.Succeeded, rollback.Message);
        Assert.Equal(1u, (await client.ListContainersAsync())[0].Generation);
        Assert.Equal("1", await Inside(client, path, "cat", "/nix/var/nix/profiles/system/etc/variant"));
        Assert.Equal(pid, (await client.ListContainersAsync())[0].LeaderPid);
        Assert.True((await client.ListGenerationsAsync("app"))[0].Current);
    }

    [Fact]
    public async Task Restart_activation_boots_the_new_generation_with_a_new_init()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        using var client = await daemon.ConnectAsync();
        Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync("rs", DaemonUnderTest.NixDefinition("rs", "1", "activation: restart")))).Succeeded);
        Assert.True((await client.RunJobAsync(c => c.StartContainerAsync("rs"))).Succeeded);
        uint pid = (await client.ListContainersAsync())[0].LeaderPid;

        var update = await client.RunJobAsync(c => c.UpdateContainerAsync("rs", DaemonUnderTest.NixDefinition("rs", "2", "activation: restart")));
        Assert.True(update.Succeeded, update.Message);
        var row = (await client.ListContainersAsync())[0];
        Assert.Equal(("running", 2u), (row.State, row.Generation));
        Assert.NotEqual(pid, row.LeaderPid);
        Assert.Equal("2", await Inside(client, row.Path, "cat", "/nix/var/nix/profiles/system/etc/variant"));
    }

    [Fact]
    public async Task A_failed_build_leaves_generation_definition_and_running_container_as_they_were()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        using var client = await daemon.ConnectAsync();
        string good = DaemonUnderTest.NixDefinition("keep");
        Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync("keep", good))).Succeeded);
        Assert.True((await client.RunJobAsync(c => c.StartContainerAsync("keep"))).Succeeded);
        var before = (await client.ListContainersAsync())[0];

        // JobLog signals carry the build's output while it runs.
        var log = new ConcurrentQueue<string>();
        await client.WatchJobsAsync((_, line) => log.Enqueue(line));
        string broken = DaemonUnderTest.NixDefinition("keep", args: new Dictionary<string, string> { ["failBuild"] = "1" });
        var end = await client.RunJobAsync(c => c.UpdateContainerAsync("keep", broken));
        Assert.Equal(JobResults.Failed, end.Result);
        Assert.Contains("this system does not build", end.Message);
        Assert.Contains(log, line => line.Contains("compiling the broken system"));

        var after = (await client.ListContainersAsync())[0];
        Assert.Equal((before.Generation, before.LeaderPid, "running"), (after.Generation, after.LeaderPid, after.State));
        Assert.Single(await client.ListGenerationsAsync("keep"));
        var properties = await client.GetAllPropertiesAsync(after.Path, Names.ContainerInterface);
        Assert.Equal(good, properties["Definition"].GetString());
        Assert.Equal(good, await File.ReadAllTextAsync(Path.Combine(daemon.StateDir, "containers", "keep", "container.yaml")));
    }

    [Fact]
    public async Task Live_generations_survive_garbage_collection_and_destroy_lets_it_reclaim_the_system()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        using var client = await daemon.ConnectAsync();
        // A variant no other test builds, so nothing else keeps it alive.
        string variant = "gc-" + Guid.NewGuid().ToString("N")[..8];
        Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync("gc", DaemonUnderTest.NixDefinition("gc", variant)))).Succeeded);
        string path = await client.GetContainerAsync("gc");
        string system = (await client.GetAllPropertiesAsync(path, Names.ContainerInterface))["SystemPath"].GetString();

        // Nix refuses to delete a path a GC root keeps alive: the profile's generation is such a root.
        // (Not a whole `nix-store --gc`: that would collect what parallel tests and the host still use.)
        var gc = await Programs.Run("nix-store", "--delete", system);
        Assert.NotEqual(0, gc.ExitCode);
        Assert.Contains("still alive", gc.Stderr);
        Assert.True(Directory.Exists(system), "a live generation was collected");
        Assert.True((await client.RunJobAsync(c => c.StartContainerAsync("gc"))).Succeeded);
        Assert.Equal("running", (await client.ListContainersAsync())[0].State);

        string[] roots = [Path.Combine(daemon.ProfilesDir, "gc"), Path.Combine(daemon.StateDir, "containers", "gc")];
        Assert.NotEmpty(IndirectRootsInto(roots)); // its generation's, at least
        Assert.True((await client.RunJobAsync(c => c.DestroyContainerAsync("gc"))).Succeeded);
        // Its gcroots/auto links go with it, not at some later garbage collection.
        Assert.Empty(IndirectRootsInto(roots));
        var gcAgain = await Programs.Run("nix-store", "--delete", system);
        Assert.True(gcAgain.ExitCode == 0, gcAgain.Stderr);
        Assert.False(Directory.Exists(system), "the destroyed container's system is still in the store");
    }

    /// <summary>
    /// The daemon writes a generation's links itself (no Nix process on the way, Nix saying the path
    /// is valid and holding it meanwhile): Nix's own tools must take them for their own.
    /// </summary>
    [Fact]
    public async Task A_generation_is_one_Nix_lists_roots_and_names_as_nix_env_would()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        using var client = await daemon.ConnectAsync();
        // Built without an out-link: once created, the profile is the only thing keeping it.
        string variant = "links-" + Guid.NewGuid().ToString("N")[..8];
        string first = await Systems.BuildAsync("links", variant), second = await Systems.BuildAsync("links", variant + "b");
        var create = await client.RunJobAsync(c => c.CreateContainerAsync("links", $"system: {{ path: {first} }}\n"));
        Assert.True(create.Succeeded, create.Message);
        var update = await client.RunJobAsync(c => c.UpdateContainerAsync("links", $"system: {{ path: {second} }}\n"));
        Assert.True(update.Succeeded, update.Message);
        string profile = Path.Combine(daemon.ProfilesDir, "links", "system");

        var listed = await Programs.Run("nix-env", "-p", profile, "--list-generations");
        Assert.True(listed.ExitCode == 0, listed.Stderr);
        Assert.Matches(@"^\s*1\s+\S+ \S+\s*\n\s*2\s+\S+ \S+\s+\(current\)\s*$", listed.Stdout);
        foreach (var (system, number) in new[] { (first, 1), (second, 2) })
        {
            var roots = await Programs.Run("nix-store", "--query", "--roots", system);
            Assert.Contains($"{profile}-{number}-link -> {system}", roots.Stdout);
            var delete = await Programs.Run("nix-store", "--delete", system);
            Assert.Contains("still alive", delete.Stderr);
        }

        // The same store path set by nix-env itself in a profile of the test's: its gcroots/auto link
        // has the name the daemon computes (and the daemon's links sit where Nix puts them).
        string scratch = Path.Combine(daemon.ProfilesDir, "by-nix-env");
        Directory.CreateDirectory(scratch);
        string byNix = Path.Combine(scratch, "system-1-link");
        string auto = Path.Combine(GcRoots.AutoDir, ProfileLinks.IndirectRootName(byNix));
        try
        {
            var set = await Programs.Run("nix-env", "-p", Path.Combine(scratch, "system"), "--set", first);
            Assert.True(set.ExitCode == 0, set.Stderr);
            Assert.Equal(byNix, new FileInfo(auto).LinkTarget);
            Assert.Equal(Path.Combine(daemon.ProfilesDir, "links", "system-1-link"),
                new FileInfo(Path.Combine(GcRoots.AutoDir, ProfileLinks.IndirectRootName(Path.Combine(daemon.ProfilesDir, "links", "system-1-link")))).LinkTarget);
        }
        finally
        {
            File.Delete(auto);
            Directory.Delete(scratch, recursive: true);
        }

        Assert.True((await client.RunJobAsync(c => c.DestroyContainerAsync("links"))).Succeeded);
        foreach (string system in new[] { first, second })
        {
            var delete = await Programs.Run("nix-store", "--delete", system);
            Assert.True(delete.ExitCode == 0, delete.Stderr);
        }
    }

    /// <summary>
    /// A nix-store that takes the question and never answers (here stopped; stuck on a lock would do
    /// the same): a cancel must end it, or it holds the path as a temporary root for as long as the
    /// daemon runs, and its process with it.
    /// </summary>
    [Fact]
    public async Task A_step_canceled_while_its_nix_store_does_not_answer_ends_that_nix_store()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        using var client = await daemon.ConnectAsync();
        string first = await Systems.BuildAsync("stuck"), second = await Systems.BuildAsync("stuck", "2");
        Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync("stuck", $"system: {{ path: {first} }}\n"))).Succeeded);
        await Eventually.TrueAsync(() => StoreServers(daemon).Count == 1, "the spare nix-store --serve");
        int spare = StoreServers(daemon)[0];
        Assert.Equal(0, (await Programs.Run("kill", "-STOP", spare.ToString(CultureInfo.InvariantCulture))).ExitCode);
        try
        {
            await client.WatchJobsAsync();
            string job = await client.UpdateContainerAsync("stuck", $"system: {{ path: {second} }}\n");
            // The spare is taken (the next starts beside it) and asked: it cannot answer.
            await Eventually.TrueAsync(() => StoreServers(daemon).Count == 2, "the spare taken, the next one started");
            await client.CancelJobAsync(ContainerDClient.JobId(job));
            var end = await client.WaitForJobAsync(job).WaitAsync(TimeSpan.FromSeconds(20));
            Assert.Equal(JobResults.Canceled, end.Result);
            await Eventually.TrueAsync(() => !StoreServers(daemon).Contains(spare), "the unanswering nix-store ended");
            Assert.Equal(1u, Assert.Single(await client.ListGenerationsAsync("stuck")).Number);
        }
        finally
        {
            if (StoreServers(daemon).Contains(spare))
            {
                Process.GetProcessById(spare).Kill(); // still ours: the daemon's child
            }
        }
        var update = await client.RunJobAsync(c => c.UpdateContainerAsync("stuck", $"system: {{ path: {second} }}\n"));
        Assert.True(update.Succeeded, update.Message);
    }

    /// <summary>gcroots/auto's links that lead into one of the dirs.</summary>
    private static List<string> IndirectRootsInto(IReadOnlyList<string> dirs) =>
        new DirectoryInfo(GcRoots.AutoDir).EnumerateFileSystemInfos()
            .Where(link => link.LinkTarget is { } target && dirs.Any(dir => target.StartsWith(dir + "/", StringComparison.Ordinal)))
            .Select(link => $"{link.FullName} -> {link.LinkTarget}")
            .ToList();

    /// <summary>The daemon's nix-store --serve children (a pid may have been reused: only its children count).</summary>
    private static List<int> StoreServers(DaemonUnderTest daemon) =>
        Directory.EnumerateDirectories("/proc").Select(Path.GetFileName).Where(d => d!.All(char.IsAsciiDigit)).Select(d => int.Parse(d!))
            .Where(pid =>
            {
                try
                {
                    string stat = File.ReadAllText($"/proc/{pid}/stat");
                    var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                    return fields[0] != "Z" && int.Parse(fields[1]) == daemon.Pid
                        && File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ').Contains("nix-store --serve", StringComparison.Ordinal);
                }
                catch (IOException)
                {
                    return false; // gone meanwhile
                }
            })
            .ToList();

    [Fact]
    public async Task Deleting_old_generations_keeps_the_current_one_and_frees_the_rest_for_the_collector()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        string salt = Guid.NewGuid().ToString("N")[..6];
        Assert.True((await daemon.CliAsync("create", "gens", "-f", Write(daemon, DaemonUnderTest.NixDefinition("gens", $"a{salt}")))).ExitCode == 0);
        Assert.True((await daemon.CliAsync("update", "gens", "-f", Write(daemon, DaemonUnderTest.NixDefinition("gens", $"b{salt}")))).ExitCode == 0);
        Assert.True((await daemon.CliAsync("update", "gens", "-f", Write(daemon, DaemonUnderTest.NixDefinition("gens", $"c{salt}")))).ExitCode == 0);
        Assert.True((await daemon.CliAsync("rollback", "gens", "2")).ExitCode == 0);

        var list = await daemon.CliAsync("generations", "gens");
        Assert.Matches(@"(?m)^2\s+\S+ \S+\s+/nix/store/\S+-gens-b\w+\s+\(current\)$", list.Stdout);
        Assert.Equal(4, list.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length); // header + 3

        // Refused before a job, as nix-env would refuse them in it: it keeps at least one, and 0d is no age.
        foreach (string which in (string[])["everything", "+0", "0d", "+000"])
        {
            var bad = await daemon.CliAsync("generations", "gens", "--delete", which);
            Assert.True(bad.ExitCode == 2 && bad.Stderr.Contains("is not a generation selector", StringComparison.Ordinal), $"--delete {which}: {bad}");
        }

        var deleted = await daemon.CliAsync("generations", "gens", "--delete", "old");
        Assert.True(deleted.ExitCode == 0, deleted.ToString());
        using var client = await daemon.ConnectAsync();
        var left = Assert.Single(await client.ListGenerationsAsync("gens"));
        Assert.Equal((2u, true), (left.Number, left.Current));
        string oldSystem = (await Systems.BuildAsync("gens", $"a{salt}"));
        var gc = await Programs.Run("nix-store", "--delete", oldSystem);
        Assert.True(gc.ExitCode == 0, gc.Stderr);
        Assert.True(Directory.Exists(left.StorePath));
    }

    [Fact]
    public async Task A_failing_activation_fails_the_job_with_its_output_and_the_container_keeps_running()
    {
        await using var daemon = await DaemonUnderTest.StartAsync();
        using var client = await daemon.ConnectAsync();
        Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync("act", DaemonUnderTest.NixDefinition("act", "1", "activation: switch")))).Succeeded);
        Assert.True((await client.RunJobAsync(c => c.StartContainerAsync("act"))).Succeeded);
        uint pid = (await client.ListContainersAsync())[0].LeaderPid;

        string failing = DaemonUnderTest.NixDefinition("act", "2", "activation: switch", args: new Dictionary<string, string> { ["failSwitch"] = "1" });
        var end = await client.RunJobAsync(c => c.UpdateContainerAsync("act", failing));
        Assert.Equal(JobResults.Failed, end.Result);
        Assert.Contains("switch-to-configuration failed in 'act' (exit 3)", end.Message);
        Assert.Contains("a service did not start", end.Message);
        var row = (await client.ListContainersAsync())[0];
        Assert.Equal(("running", pid), (row.State, row.LeaderPid));
        // The new generation is recorded: the next start boots it.
        Assert.Equal(2u, row.Generation);
    }

    private static string Write(DaemonUnderTest daemon, string yaml)
    {
        string file = Path.Combine(daemon.Dir, Guid.NewGuid().ToString("N") + ".yaml");
        File.WriteAllText(file, yaml);
        return file;
    }
}
