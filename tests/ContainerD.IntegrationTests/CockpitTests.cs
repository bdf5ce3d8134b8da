using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using ContainerD.Contract;
using ContainerD.IntegrationTests.Harness;

namespace ContainerD.IntegrationTests;

/// <summary>
/// The Cockpit page (cockpit/) in headless Chromium, in Debian's Cockpit, against the real daemon on a
/// system bus with the repository's policy. Each test runs one scenario of cockpit/test/page.mjs (the
/// browser's side, with its own checks through busctl) in a cockpit-ws of its own: with --local-session,
/// cockpit-ws starts one bridge, which exits a while after its last page closed, and serves no more.
/// Screenshots go to artifacts/test-results/cockpit/.
/// </summary>
public sealed class CockpitTests(CockpitTests.Host host) : IClassFixture<CockpitTests.Host>
{
    [Fact]
    public Task The_list_shows_the_daemons_containers_with_their_states_in_light_and_dark_mode_and_at_a_narrow_width() =>
        host.RunAsync("list");

    [Fact]
    public async Task Start_runs_a_stopped_container_and_stop_stops_it()
    {
        await host.RunAsync("startStop");
        Assert.Equal("stopped", (await host.SummaryAsync("idle")).State);
    }

    [Fact]
    public async Task Create_from_a_store_path_streams_the_jobs_log_and_starts_the_new_container()
    {
        await host.RunAsync("create");
        var fresh = await host.SummaryAsync("fresh");
        Assert.Equal(("running", 1u), (fresh.State, fresh.Generation));
    }

    [Fact]
    public async Task A_failed_build_shows_its_log_the_daemons_message_and_the_errors_name()
    {
        await host.RunAsync("failedJob");
        Assert.DoesNotContain(await host.Client.ListContainersAsync(), c => c.Name == "broken");
    }

    [Fact]
    public Task A_containers_page_shows_its_details_generations_definition_and_console_log_live() => host.RunAsync("containerPage");

    [Fact]
    public async Task Rollback_returns_a_container_to_an_older_generation()
    {
        await host.RunAsync("rollback");
        Assert.Equal(1u, (await host.SummaryAsync("db")).Generation);
    }

    [Fact]
    public async Task Destroy_asks_first_and_then_removes_the_container()
    {
        await host.RunAsync("destroy");
        Assert.DoesNotContain(await host.Client.ListContainersAsync(), c => c.Name == "doomed");
    }

    [Fact]
    public async Task A_container_destroyed_and_made_again_under_its_name_shows_its_new_uid_range()
    {
        await host.RunAsync("recreated");
        Assert.Equal(131072u, (await host.SummaryAsync("reborn")).UidSize);
    }

    [Fact]
    public async Task A_user_outside_the_admin_group_sees_everything_read_only_and_is_told_why()
    {
        await host.RunAsync("readOnly", TestUsers.Outsider);
        Assert.Equal("running", (await host.SummaryAsync("web")).State);
        Assert.Empty(await host.Client.ListJobsAsync());
    }

    /// <summary>The daemon, its containers, the built page where Cockpit finds it, and a way to run a scenario.</summary>
    public sealed class Host : IAsyncLifetime
    {
        private string _dir = "";
        private DaemonUnderTest? _daemon;
        private string _systemPath = "";

        public ContainerDClient Client { get; private set; } = null!;
        public static string Artifacts { get; } = Path.Combine(Repo.Root, "artifacts", "test-results", "cockpit");

        public async Task InitializeAsync()
        {
            string page = Path.Combine(Repo.Root, "cockpit", "dist");
            if (!File.Exists(Path.Combine(page, "manifest.json")))
            {
                throw new InvalidOperationException($"the Cockpit page is not built: run 'npm ci && npm run build' in {Path.GetDirectoryName(page)} (test.sh does)");
            }
            await TestUsers.EnsureAsync(TestUsers.Outsider);
            _dir = BusConfigs.SharedDir();
            _daemon = await DaemonUnderTest.StartAsync("", PrivateBus.Start(BusConfigs.SystemWithRepoPolicy(_dir)));
            Client = await _daemon.ConnectAsync();

            // Cockpit finds the package through XDG_DATA_DIRS, and its config (where the console logs are) in
            // an override file, as an admin with a non-default lxcPath would write /etc/cockpit/containerctl.override.json.
            CopyDirectory(page, Path.Combine(_dir, "share", "cockpit", "containerctl"));
            Directory.CreateDirectory(Path.Combine(_dir, "config", "cockpit"));
            File.WriteAllText(Path.Combine(_dir, "config", "cockpit", "containerctl.override.json"),
                $$"""{ "config": { "lxcPath": "{{_daemon.LxcPath}}" } }""");
            foreach (string dir in Directory.EnumerateDirectories(_dir, "*", SearchOption.AllDirectories).Append(_dir))
            {
                File.SetUnixFileMode(dir, (UnixFileMode)0b111_101_101);
            }
            File.WriteAllText(Path.Combine(_dir, "failing.nix"), """
                derivation {
                  name = "failing-system";
                  system = builtins.currentSystem;
                  builder = "/bin/sh";
                  args = [ "-c" "echo this build fails on purpose >&2; exit 1" ];
                }
                """);

            _systemPath = await Systems.BuildAsync("web");
            string second = await Systems.BuildAsync("web", "2");
            await CreateAsync("web", _systemPath);
            await MustAsync(c => c.StartContainerAsync("web"));
            await CreateAsync("db", _systemPath);
            await MustAsync(c => c.UpdateContainerAsync("db", Definition("db", second)));
            await CreateAsync("idle", _systemPath);
            await CreateAsync("doomed", _systemPath);
            await CreateAsync("reborn", _systemPath);
            Directory.CreateDirectory(Artifacts);
        }

        public async Task<ContainerSummary> SummaryAsync(string name) => (await Client.ListContainersAsync()).Single(c => c.Name == name);

        /// <summary>Runs one scenario of page.mjs in a fresh cockpit-ws as root (an admin), or as the given user.</summary>
        public async Task RunAsync(string scenario, string? user = null)
        {
            int port = FreePort();
            using var ws = StartCockpitWs(port, user);
            try
            {
                await WaitForPortAsync(port, ws);
                var (exit, stdout, stderr) = await Programs.RunWith(new Dictionary<string, string>
                {
                    ["COCKPIT_URL"] = $"http://127.0.0.1:{port}",
                    ["BUS"] = _daemon!.Bus.Address,
                    ["ARTIFACTS"] = Artifacts,
                    ["SYSTEM_PATH"] = _systemPath,
                    ["FAILING_NIX"] = Path.Combine(_dir, "failing.nix"),
                    ["CLI"] = Repo.Cli,
                }, null, "node", Path.Combine(Repo.Root, "cockpit", "test", "page.mjs"), scenario);
                Assert.True(exit == 0, $"page.mjs {scenario} exited with {exit}:\n{stdout}\n{stderr}\n(screenshots in {Artifacts})");
            }
            finally
            {
                ws.Kill(entireProcessTree: true);
                await ws.WaitForExitAsync();
            }
        }

        private Process StartCockpitWs(int port, string? user)
        {
            string[] argv = [.. user is null ? [] : TestUsers.As(user), "/usr/lib/cockpit/cockpit-ws", "--local-session=cockpit-bridge",
                "--address", "127.0.0.1", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)];
            var startInfo = new ProcessStartInfo(argv[0]) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (string arg in argv[1..])
            {
                startInfo.ArgumentList.Add(arg);
            }
            // The bridge's "system bus" is the test's; the packages and their overrides are the test's too.
            startInfo.Environment["DBUS_SYSTEM_BUS_ADDRESS"] = _daemon!.Bus.Address;
            startInfo.Environment["XDG_DATA_DIRS"] = $"{_dir}/share:/usr/share";
            startInfo.Environment["XDG_CONFIG_DIRS"] = $"{_dir}/config";
            if (user is not null)
            {
                startInfo.Environment["HOME"] = "/nonexistent";
            }
            var process = Process.Start(startInfo)!;
            process.OutputDataReceived += (_, _) => { };
            process.ErrorDataReceived += (_, _) => { };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            return process;
        }

        private static async Task WaitForPortAsync(int port, Process ws)
        {
            for (var deadline = DateTime.UtcNow.AddSeconds(20); DateTime.UtcNow < deadline; await Task.Delay(50))
            {
                Assert.False(ws.HasExited, $"cockpit-ws exited with {(ws.HasExited ? ws.ExitCode : 0)}");
                try
                {
                    using var client = new TcpClient();
                    await client.ConnectAsync(IPAddress.Loopback, port);
                    return;
                }
                catch (SocketException)
                {
                    // Not listening yet.
                }
            }
            throw new TimeoutException($"cockpit-ws did not listen on 127.0.0.1:{port} within 20 s");
        }

        private static int FreePort()
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        private static string Definition(string name, string systemPath) => $"name: {name}\nsystem:\n  path: {systemPath}\nstopTimeout: 10s\n";

        private Task CreateAsync(string name, string systemPath) => MustAsync(c => c.CreateContainerAsync(name, Definition(name, systemPath)));

        private async Task MustAsync(Func<ContainerDClient, Task<string>> start)
        {
            var end = await Client.RunJobAsync(start);
            Assert.True(end.Succeeded, end.ToString());
        }

        private static void CopyDirectory(string from, string to)
        {
            foreach (string file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
            {
                string target = Path.Combine(to, Path.GetRelativePath(from, file));
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.Copy(file, target);
            }
        }

        public async Task DisposeAsync()
        {
            Client?.Dispose();
            if (_daemon is not null)
            {
                await _daemon.DisposeAsync();
            }
            if (Directory.Exists(_dir))
            {
                Directory.Delete(_dir, recursive: true);
            }
        }
    }
}
