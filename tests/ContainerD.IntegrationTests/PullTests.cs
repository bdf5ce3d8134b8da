using ContainerD.IntegrationTests.Harness;

namespace ContainerD.IntegrationTests;

/// <summary>
/// Pull: a daemon whose config names binary caches realises a prebuilt system its store lacks from
/// them, signature checked; an unsigned or missing path fails the job naming it. On the second
/// host, whose store starts empty, from a file:// cache this machine signs with its own key.
/// </summary>
public sealed class PullTests
{
    [Fact]
    public async Task A_system_path_the_host_lacks_comes_from_a_signed_cache_and_an_unsigned_or_missing_one_is_refused_by_name()
    {
        string run = Guid.NewGuid().ToString("N")[..8];
        string dir = Directory.CreateTempSubdirectory("ctd-cache-").FullName;
        try
        {
            // A cache with a key of its own: one system signed, one copied unsigned, one never copied.
            string key = Path.Combine(dir, "secret"), cache = Path.Combine(dir, "cache");
            await Programs.RunChecked("nix-store", "--generate-binary-cache-key", "ctd-test-" + run, key, key + ".pub");
            string publicKey = (await File.ReadAllTextAsync(key + ".pub")).Trim();
            string signed = await Systems.BuildAsync("far-signed-" + run);
            string unsigned = await Systems.BuildAsync("far-unsigned-" + run);
            string missing = await Systems.BuildAsync("far-missing-" + run);
            await NixCopyAsync($"file://{cache}?secret-key={key}", signed);
            await NixCopyAsync($"file://{cache}", unsigned);

            await using var host = await SecondHost.StartAsync($"substituters: [ \"file://{cache}\" ]\ntrustedPublicKeys: [ \"{publicKey}\" ]");
            // Whatever the host's nix.conf says, the daemon keeps signature checks on.
            await host.AppendFileAsync("/etc/nix/nix.conf", "require-sigs = false\n");
            Assert.Empty(await host.ValidPathsAsync([signed, unsigned, missing]));
            using var there = await host.Daemon.ConnectAsync();

            // --build-on remote: nothing is pushed, the other host's daemon gets the path as it is.
            var pulled = await host.CliAsync("create", "far-pulled", "--system", signed, "--build-on", "remote", "--start");
            Assert.True(pulled.ExitCode == 0, pulled.ToString());
            Assert.DoesNotContain("push:", pulled.Stdout);
            Assert.Contains($"{signed} is not in the store: fetching it and what it needs from file://{cache}, signed by one of ctd-test-{run}", pulled.Stdout);
            Assert.Contains($"copying path '{signed}' from 'file://{cache}'", pulled.Stdout);
            Assert.Contains("far-pulled: started", pulled.Stdout);
            Assert.Single(await host.ValidPathsAsync([signed]));
            var booted = await host.CliAsync("run", "far-pulled", "--", "readlink", "-f", "/nix/var/nix/profiles/system");
            Assert.Equal(signed + "\n", booted.Stdout);

            // Unsigned: the job fails naming the path and the missing signature; nothing is created.
            var refused = await host.CliAsync("create", "far-unsigned", "--system", unsigned, "--build-on", "remote");
            Assert.Equal(2, refused.ExitCode);
            Assert.Contains($"system path {unsigned} cannot be fetched: {unsigned} (from file://{cache}) is not signed by any of the trustedPublicKeys", refused.Stderr);
            Assert.Empty(await host.ValidPathsAsync([unsigned]));

            // Missing from every cache: the job fails naming the path and the caches asked.
            var absent = await host.CliAsync("create", "far-missing", "--system", missing, "--build-on", "remote");
            Assert.Equal(2, absent.ExitCode);
            Assert.Contains($"system path {missing} cannot be fetched: no substituter (file://{cache}) has {missing}", absent.Stderr);
            Assert.Equal(["far-pulled"], (await there.ListContainersAsync()).Select(c => c.Name));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Without_caches_a_missing_system_path_is_refused_at_once()
    {
        await using var host = await SecondHost.StartAsync();
        string system = await Systems.BuildAsync("far-nocache-" + Guid.NewGuid().ToString("N")[..8]);
        var refused = await host.CliAsync("create", "far-nocache", "--system", system, "--build-on", "remote");
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains($"system.path {system} does not exist", refused.Stderr);
        Assert.Contains("name binary caches in the daemon's config (substituters, trustedPublicKeys)", refused.Stderr);
    }

    private static Task NixCopyAsync(string to, string path) =>
        Programs.RunChecked("nix", "--extra-experimental-features", "nix-command", "copy", "--to", to, path);
}
