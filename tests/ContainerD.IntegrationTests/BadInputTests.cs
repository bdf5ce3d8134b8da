using ContainerD.IntegrationTests.Harness;
using Tmds.DBus.Protocol;

namespace ContainerD.IntegrationTests;

/// <summary>Every kind of bad input gets its named error, and nothing is created or changed.</summary>
public sealed class BadInputTests : IAsyncLifetime
{
    private const string Error = "io.containerctl.ContainerD1.Error.";
    private DaemonUnderTest _daemon = null!;
    private Contract.ContainerDClient _client = null!;
    private string _system = "";

    public async Task InitializeAsync()
    {
        // A pool of 3 ranges: the third create finds it exhausted.
        _daemon = await DaemonUnderTest.StartAsync("idPool: { base: 1000000, size: 196608 }");
        _client = await _daemon.ConnectAsync();
        _system = await Systems.BuildAsync("badinput");
        Assert.True((await _client.RunJobAsync(c => c.CreateContainerAsync("existing", $"system: {{ path: {_system} }}\n"))).Succeeded);
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _daemon.DisposeAsync();
    }

    public static TheoryData<string, string, string> Creates => new()
    {
        // name, yaml, error kind
        { "", "system: { path: /nix/store/x }", "InvalidName" },
        { new string('a', 32), "system: { path: /nix/store/x }", "InvalidName" },
        { "Web", "system: { path: /nix/store/x }", "InvalidName" },
        { "../x", "system: { path: /nix/store/x }", "InvalidName" },
        { "a/b", "system: { path: /nix/store/x }", "InvalidName" },
        { "wébserver", "system: { path: /nix/store/x }", "InvalidName" },
        { "-x", "system: { path: /nix/store/x }", "InvalidName" },
        { "bad", "system: [ unclosed", "InvalidDefinition" },
        { "bad", "system: { path: /nix/store/x }\nfavourite: colour\n", "InvalidDefinition" },
        { "bad", "system: { path: /nix/store/x }\nautostart: yes-please\n", "InvalidDefinition" },
        { "bad", "system: { path: /nix/store/x }\nautostart: true\nautostart: false\n", "InvalidDefinition" },
        { "bad", "system: { path: relative/system }\n", "InvalidDefinition" },
        { "bad", "system: { path: /nix/store/00000000000000000000000000000000-missing-system }\n", "InvalidDefinition" },
        { "bad", "system: { path: /nix/store/x, nix: { file: /x.nix } }\n", "InvalidDefinition" },
        { "bad", "system: { path: /nix/store/x }\nidmap: { base: 0 }\n", "InvalidDefinition" },
        { "bad", "system: { path: /nix/store/x }\nbindMounts: [ { host: /srv, container: /nix/store } ]\n", "InvalidDefinition" },
        { "bad", "system: { path: /nix/store/x }\nbindMounts: [ { host: /srv, container: /nix/store/abc } ]\n", "InvalidDefinition" },
        { "bad", "system: { path: /nix/store/x }\nbindMounts: [ { host: srv, container: /srv } ]\n", "InvalidDefinition" },
        { "bad", "system: { path: /nix/store/x }\nbindMounts: [ { host: /srv/../etc, container: /srv } ]\n", "InvalidDefinition" },
    };

    [Theory]
    [MemberData(nameof(Creates))]
    public async Task A_bad_create_is_refused_with_its_error_and_creates_nothing(string name, string yaml, string kind)
    {
        var before = Snapshot();
        var error = await Assert.ThrowsAsync<DBusErrorReplyException>(() => _client.CreateContainerAsync(name, yaml));
        Assert.Equal(Error + kind, error.ErrorName);
        Assert.False(string.IsNullOrWhiteSpace(error.ErrorMessage));
        Assert.Equal(before, Snapshot());
    }

    [Fact]
    public async Task A_ten_megabyte_definition_is_refused()
    {
        string huge = "system: { path: /nix/store/x }\n# " + new string('x', 10 * 1024 * 1024) + "\n";
        var error = await Assert.ThrowsAsync<DBusErrorReplyException>(() => _client.CreateContainerAsync("huge", huge));
        Assert.Equal(Error + "InvalidDefinition", error.ErrorName);
        Assert.Contains("MiB", error.ErrorMessage);
    }

    [Fact]
    public async Task Fixed_bases_outside_the_pool_or_on_another_container_are_refused()
    {
        var existing = Assert.Single(await _client.ListContainersAsync(), r => r.Name == "existing");
        foreach (long fixedBase in new long[] { existing.UidBase, 100_000, 1_000_000 + 196_608 })
        {
            var error = await Assert.ThrowsAsync<DBusErrorReplyException>(() =>
                _client.CreateContainerAsync("fixed", $"system: {{ path: {_system} }}\nidmap: {{ base: {fixedBase} }}\n"));
            Assert.Equal(Error + "InvalidDefinition", error.ErrorName);
        }
    }

    [Fact]
    public async Task Changes_to_a_missing_container_are_NoSuchContainer_and_a_second_create_is_AlreadyExists()
    {
        foreach (var call in new Func<Task>[]
        {
            () => _client.StartContainerAsync("ghost"), () => _client.StopContainerAsync("ghost", true),
            () => _client.RestartContainerAsync("ghost"), () => _client.DestroyContainerAsync("ghost"),
            () => _client.UpdateContainerAsync("ghost", ""), () => _client.RollbackContainerAsync("ghost", 0),
            () => _client.GetContainerAsync("ghost"), () => _client.ListGenerationsAsync("ghost"),
        })
        {
            Assert.Equal(Error + "NoSuchContainer", (await Assert.ThrowsAsync<DBusErrorReplyException>(call)).ErrorName);
        }
        var again = await Assert.ThrowsAsync<DBusErrorReplyException>(() => _client.CreateContainerAsync("existing", $"system: {{ path: {_system} }}\n"));
        Assert.Equal(Error + "AlreadyExists", again.ErrorName);
    }

    [Fact]
    public async Task A_profile_of_the_name_that_no_container_owns_is_not_taken_over()
    {
        // nixos-container keeps its containers' profiles in the same per-container directory: a create
        // added its generation to that profile, and its destroy deleted the profile.
        string foreign = Path.Combine(_daemon.ProfilesDir, "web");
        Directory.CreateDirectory(foreign);
        var set = await Programs.Run("nix-env", "-p", Path.Combine(foreign, "system"), "--set", _system);
        Assert.True(set.ExitCode == 0, set.Stderr);
        var before = Directory.EnumerateFileSystemEntries(foreign).Order().ToList();

        var error = await Assert.ThrowsAsync<DBusErrorReplyException>(() => _client.CreateContainerAsync("web", $"system: {{ path: {_system} }}\n"));

        Assert.Equal(Error + "AlreadyExists", error.ErrorName);
        Assert.Contains($"{foreign} exists", error.ErrorMessage);
        Assert.Equal(before, Directory.EnumerateFileSystemEntries(foreign).Order().ToList());
        Assert.DoesNotContain(await _client.ListContainersAsync(), c => c.Name == "web");
    }

    [Fact]
    public async Task An_exhausted_pool_is_NoFreeRange()
    {
        // The pool holds 3 ranges; "existing" has one.
        var second = await _client.RunJobAsync(c => c.CreateContainerAsync("second", $"system: {{ path: {_system} }}\nidmap: {{ size: 131072 }}\n"));
        Assert.True(second.Succeeded, second.Message);
        var error = await Assert.ThrowsAsync<DBusErrorReplyException>(() => _client.CreateContainerAsync("third", $"system: {{ path: {_system} }}\n"));
        Assert.Equal(Error + "NoFreeRange", error.ErrorName);
        Assert.Contains("no free uid range", error.ErrorMessage);
        Assert.True((await _client.RunJobAsync(c => c.DestroyContainerAsync("second"))).Succeeded);
    }

    [Fact]
    public async Task A_system_path_in_the_store_that_Nix_does_not_know_fails_the_create_as_InvalidDefinition_and_leaves_nothing()
    {
        // A directory in the store that no Nix database entry makes valid (copied there by hand, say).
        string unknown = Path.Combine("/nix/store", $"{Guid.NewGuid():N}"[..32].Replace('e', 'f') + "-not-registered-system");
        Directory.CreateDirectory(unknown);
        try
        {
            File.Copy(Path.Combine(_system, "init"), Path.Combine(unknown, "init"));
            var before = Snapshot();
            var end = await _client.RunJobAsync(c => c.CreateContainerAsync("unknown", $"system: {{ path: {unknown} }}\n"));
            Assert.Equal((false, Error + "InvalidDefinition"), (end.Succeeded, end.ErrorName));
            Assert.Equal($"system path {unknown} is not a valid path in the Nix store: build it or copy it there first",
                end.Message);
            Assert.Equal(before, Snapshot());
            Assert.DoesNotContain(await _client.ListContainersAsync(), c => c.Name == "unknown");
        }
        finally
        {
            Directory.Delete(unknown, recursive: true);
        }
    }

    /// <summary>Everything on disk that a create could have made.</summary>
    private string Snapshot() => string.Join("\n",
        new[] { Path.Combine(_daemon.StateDir, "containers"), _daemon.LxcPath, _daemon.ProfilesDir }
            .Where(Directory.Exists)
            .SelectMany(dir => Directory.EnumerateFileSystemEntries(dir, "*", SearchOption.TopDirectoryOnly))
            .Order());
}
