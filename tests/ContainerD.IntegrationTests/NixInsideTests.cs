using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using ContainerD.Contract;
using ContainerD.IntegrationTests.Harness;

namespace ContainerD.IntegrationTests;

/// <summary>
/// nix: { daemon: true } — Nix inside the container through the host's nix-daemon: builds as an
/// untrusted user, the store and the database out of reach, GC roots the host's GC honours.
/// </summary>
public sealed class NixInsideTests
{
    private const string Socket = "/nix/var/nix/daemon-socket/socket";

    [Fact]
    public async Task A_derivation_built_inside_through_the_host_daemon_is_kept_by_a_root_made_inside_until_destroy()
    {
        await using var hostDaemon = await NixDaemon.EnsureAsync();
        string nixClient = (await Programs.RunChecked(Path.Combine(Repo.Root, "examples", "nix-client", "build.sh"))).Trim();
        string id = Guid.NewGuid().ToString("N")[..10];
        string gcRoots = $"/nix/var/nix/gcroots/containerctld-tests/{id}";
        string? built = null, drv = null;
        try
        {
            await using var daemon = await DaemonUnderTest.StartAsync($"gcRootsDir: {gcRoots}");
            using var client = await daemon.ConnectAsync();
            Assert.True((await client.RunJobAsync(c => c.CreateContainerAsync("nixy", DaemonUnderTest.NixDefinition("nixy", extra: "nix: { daemon: true }")))).Succeeded);
            var start = await client.RunJobAsync(c => c.StartContainerAsync("nixy"));
            Assert.True(start.Succeeded, start.Message);
            string path = await client.GetContainerAsync("nixy");

            async Task<CommandResult> Inside(IReadOnlyDictionary<string, string> env, params string[] argv) => await client.RunCommandAsync(path, argv, env);
            async Task<string> Ok(params string[] argv)
            {
                var r = await Inside(new Dictionary<string, string>(), argv);
                Assert.True(r.ExitCode == 0, $"{string.Join(' ', argv)}: {Encoding.UTF8.GetString(r.Stderr)}");
                return Encoding.UTF8.GetString(r.Stdout).Trim();
            }
            string[] Nix(string command, params string[] args) =>
                [$"{nixClient}/lib/ld-linux-x86-64.so.2", "--argv0", command, "--library-path", $"{nixClient}/lib", $"{nixClient}/bin/nix", .. args];

            // The init (and so the guest's processes) has NIX_REMOTE=daemon.
            Assert.Contains("NIX_REMOTE=daemon", (await Ok("cat", "/proc/1/environ")).Split('\0'));

            // A trivial derivation, new each run, its builder the guest's own (store) busybox.
            string busybox = await Ok("readlink", "-f", "/nix/var/nix/profiles/system/sw/bin/sh");
            Assert.StartsWith("/nix/store/", busybox);
            string expression = $$"""
                derivation {
                  name = "built-inside-{{id}}";
                  system = builtins.currentSystem;
                  builder = builtins.storePath "{{busybox}}";
                  args = [ "sh" "-c" "echo built inside {{id}} > $out" ];
                }
                """;
            await Ok("sh", "-c", "printf '%s' \"$1\" > /root/inside.nix", "sh", expression);
            string root = "/nix/var/nix/gcroots/per-container/nixy/result";
            var env = new Dictionary<string, string> { ["NIX_REMOTE"] = "daemon", ["HOME"] = "/root" };
            var build = await Inside(env, Nix("nix-build", "/root/inside.nix", "--out-link", root));
            Assert.True(build.ExitCode == 0, Encoding.UTF8.GetString(build.Stderr));
            built = Encoding.UTF8.GetString(build.Stdout).Trim();
            Assert.Matches($@"^/nix/store/[a-z0-9]{{32}}-built-inside-{id}$", built);
            drv = (await Programs.RunChecked("nix-store", "--query", "--deriver", built)).Trim();
            // Built by the host's daemon into the host's store, for an untrusted user (the container's root, a uid of its range).
            Assert.Equal($"built inside {id}\n", File.ReadAllText(built));
            Assert.Equal(built, await Ok("readlink", root));
            Assert.Equal(built, new FileInfo(Path.Combine(gcRoots, "nixy", "result")).LinkTarget);
            // The daemon treats the container's root as an untrusted user: a path it exported itself cannot
            // go back in without a trusted signature (for root of the host it would).
            var import = await Inside(env, ["sh", "-c", "\"$@\" --export \"$0\" > /root/built.nar && \"$@\" --import < /root/built.nar", built, .. Nix("nix-store")]);
            string importErrors = Encoding.UTF8.GetString(import.Stderr);
            Assert.NotEqual(0, import.ExitCode);
            Assert.True(importErrors.Contains("lacks a valid signature", StringComparison.Ordinal), importErrors);

            // The store stays read-only, the host's database is not there to write, the socket mount is read-only.
            Assert.NotEqual(0, (await Inside(new Dictionary<string, string>(), "sh", "-c", $"echo x > {built}")).ExitCode);
            Assert.NotEqual(0, (await Inside(new Dictionary<string, string>(), "test", "-e", "/nix/var/nix/db/db.sqlite")).ExitCode);
            string mounts = await Ok("cat", "/proc/self/mountinfo");
            Assert.DoesNotContain(mounts.Split('\n'), l => l.Contains("/nix/var/nix/db", StringComparison.Ordinal));
            Assert.Contains(mounts.Split('\n'), l => l.Split(' ') is [_, _, _, _, Socket, var options, ..] && options.Split(',').Contains("ro"));
            var local = await Inside(new Dictionary<string, string> { ["NIX_REMOTE"] = "local", ["HOME"] = "/root" }, Nix("nix-build", "/root/inside.nix", "--no-out-link"));
            Assert.NotEqual(0, local.ExitCode);

            // The host's GC keeps what the root inside holds.
            var delete = await Programs.Run("nix-store", "--delete", built);
            Assert.NotEqual(0, delete.ExitCode);
            Assert.Contains("still alive", delete.Stderr);
            Assert.True(File.Exists(built));

            // Destroy removes the roots: the path can go now.
            Assert.True((await client.RunJobAsync(c => c.DestroyContainerAsync("nixy"))).Succeeded);
            Assert.False(Directory.Exists(Path.Combine(gcRoots, "nixy")));
            Assert.DoesNotContain(Directory.EnumerateFileSystemEntries("/nix/var/nix/gcroots/auto"),
                l => new FileInfo(l).LinkTarget?.StartsWith("/nix/var/nix/gcroots/per-container/nixy/", StringComparison.Ordinal) == true);
            var deleted = await Programs.Run("nix-store", "--delete", built);
            Assert.True(deleted.ExitCode == 0, deleted.Stderr);
            Assert.False(File.Exists(built));
        }
        finally
        {
            foreach (string? p in new[] { built, drv })
            {
                if (p is not null && File.Exists(p))
                {
                    await Programs.Run("nix-store", "--delete", p);
                }
            }
            if (Directory.Exists(gcRoots))
            {
                Directory.Delete(gcRoots, recursive: true);
            }
            try
            {
                Directory.Delete(Path.GetDirectoryName(gcRoots)!); // only when empty: another test's roots stay
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>The host's nix-daemon: the one that listens, or one started here (and stopped again) where none does.</summary>
    private sealed class NixDaemon : IAsyncDisposable
    {
        private readonly Process? _started;
        private readonly bool _socketWasThere;

        private NixDaemon(Process? started, bool socketWasThere) => (_started, _socketWasThere) = (started, socketWasThere);

        public static async Task<NixDaemon> EnsureAsync()
        {
            if (Listens())
            {
                return new NixDaemon(null, true);
            }
            bool there = File.Exists(Socket);
            var process = Process.Start(new ProcessStartInfo("nix-daemon") { RedirectStandardOutput = true, RedirectStandardError = true })!;
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var daemon = new NixDaemon(process, there);
            try
            {
                await Eventually.TrueAsync(() => Listens(), "the nix-daemon this test started listening");
            }
            catch
            {
                await daemon.DisposeAsync();
                throw;
            }
            return daemon;
        }

        private static bool Listens()
        {
            try
            {
                using var socket = new System.Net.Sockets.Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                socket.Connect(new UnixDomainSocketEndPoint(Socket));
                return true;
            }
            catch (SocketException)
            {
                return false;
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (_started is null)
            {
                return;
            }
            if (!_started.HasExited)
            {
                _started.Kill(entireProcessTree: true);
                await _started.WaitForExitAsync();
            }
            _started.Dispose();
            if (!_socketWasThere && File.Exists(Socket))
            {
                File.Delete(Socket);
            }
        }
    }
}
