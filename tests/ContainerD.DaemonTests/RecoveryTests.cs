using ContainerD.Daemon.Containers;
using ContainerD.Daemon.Jobs;
using ContainerD.Domain;
using ContainerD.Domain.Configuration;
using ContainerD.Domain.Definitions;
using ContainerD.Domain.IdMapping;
using ContainerD.Domain.Lxc;
using ContainerD.Os;
using ContainerD.Os.Lxc;
using ContainerD.Os.Net;
using ContainerD.Os.Nix;
using Microsoft.Extensions.Logging.Abstractions;

namespace ContainerD.DaemonTests;

/// <summary>
/// Recovery at start, branch by branch, on what a killed daemon left in a temp state dir: no
/// state, a create under way, a destroy under way, a whole container; then declarative sync on
/// what DefinitionsDir holds. LXC and Nix are scripted.
/// </summary>
public sealed class RecoveryTests : IDisposable
{
    private static readonly IdRange Pool = new(1_073_741_824, 2 * Range);
    private const long Range = 65_536;
    private static readonly HostFeatures Host = new(IdmappedMounts: false, AppArmor: false, SeccompProfile: null,
        CgroupV2Controllers: new HashSet<string> { "memory", "cpu", "pids" }, CgroupV1Controllers: new HashSet<string>());

    private readonly string _name = "rec-" + Guid.NewGuid().ToString("N")[..8];
    private readonly ScriptedDaemon _daemon;
    private readonly DaemonConfig _config;
    private readonly StateStore _store;
    private readonly ContainerRegistry _registry;
    private readonly JobManager _jobs;
    /// <summary>Every job as it starts: on the scripted tools a job may be over before the call that started it returns.</summary>
    private readonly System.Collections.Concurrent.ConcurrentQueue<(string Container, string Operation)> _started = new();

    public RecoveryTests()
    {
        // lxc-info says stopped; nothing else is asked of the tools.
        var runner = new ScriptedRunner((_, _) => ScriptedRunner.Output(0, stdout: "State: STOPPED\n"));
        _daemon = new ScriptedDaemon(runner, Host, Pool);
        (_config, _store, _registry, _jobs) = (_daemon.Config, _daemon.Store, _daemon.Registry, _daemon.Jobs);
        _store.EnsureRoot(_config.StateDir);
        _jobs.JobNew += job => _started.Enqueue((job.Container, job.Operation));
    }

    public void Dispose() => _daemon.Dispose();

    private const string Yaml = "system: { nix: { file: /etc/web.nix } }\n";

    private PersistedState State(Phase phase, bool declarative) => new()
    {
        Name = _name, UidBase = Pool.Start, UidSize = Range, CreatedAt = DateTimeOffset.UnixEpoch, Phase = phase, Generation = 0,
        Declarative = declarative, DefinitionHash = DefinitionHash.Of(Yaml),
    };

    private void Leave(Phase? phase, bool declarative = false)
    {
        _store.CreateStateDir(_name);
        if (phase is { } p)
        {
            _store.Write(State(p, declarative));
            _store.WriteDefinition(_name, Yaml);
        }
        Directory.CreateDirectory(Path.Combine(_config.EffectiveLxcPath, _name));
        Directory.CreateDirectory(Path.Combine(_config.ProfilesDir, _name));
    }

    [Fact]
    public async Task A_state_dir_without_state_is_removed()
    {
        _store.CreateStateDir(_name);
        await _daemon.Recovery.RunAsync(CancellationToken.None);
        Assert.False(Directory.Exists(_store.Paths.StateDir(_name)));
        Assert.Empty(_registry.List());
    }

    /// <summary>A create from a prebuilt system starts nix-env before state.json: its profile goes with the dir.</summary>
    [Fact]
    public async Task A_state_dir_without_state_is_removed_with_the_names_profile_and_lxc_dir()
    {
        Leave(phase: null);
        await _daemon.Recovery.RunAsync(CancellationToken.None);
        Assert.False(Directory.Exists(_store.Paths.StateDir(_name)));
        Assert.False(Directory.Exists(Path.Combine(_config.ProfilesDir, _name)));
        Assert.False(Directory.Exists(Path.Combine(_config.EffectiveLxcPath, _name)));
        Assert.Empty(_registry.List());
    }

    [Theory]
    [InlineData(Phase.Creating)]
    [InlineData(Phase.Destroying)]
    public async Task A_create_or_destroy_under_way_leaves_nothing_and_frees_the_name_and_range(Phase phase)
    {
        Leave(phase);
        await _daemon.Recovery.RunAsync(CancellationToken.None);
        Assert.False(Directory.Exists(_store.Paths.StateDir(_name)));
        Assert.False(Directory.Exists(Path.Combine(_config.EffectiveLxcPath, _name)));
        Assert.False(Directory.Exists(Path.Combine(_config.ProfilesDir, _name)));
        Assert.Empty(_registry.List());
        _registry.RequireUnused(_name);
        // Its range, the pool's first, is free again.
        Assert.Equal(Pool.Start, _registry.Allocate("next", Range, null).Start);
    }

    [Fact]
    public async Task A_whole_container_is_loaded_with_its_range_reserved()
    {
        Leave(Phase.Ready);
        await _daemon.Recovery.RunAsync(CancellationToken.None);
        var container = Assert.Single(_registry.List());
        Assert.Equal((_name, ContainerState.Stopped), (container.Name, container.RunState));
        // Its range, the pool's first, stays its own.
        Assert.Equal(Pool.Start + Range, _registry.Allocate("next", Range, null).Start);
    }

    [Fact]
    public async Task A_container_that_cannot_be_loaded_keeps_its_name_and_range_and_the_others_load()
    {
        Leave(Phase.Ready);
        File.WriteAllText(_store.Paths.DefinitionFile(_name), "system: [ not a mapping\n");
        await _daemon.Recovery.RunAsync(CancellationToken.None);
        Assert.Empty(_registry.List());
        Assert.Contains("could not be loaded", Assert.Throws<ContainerDException>(() => _registry.RequireUnused(_name)).Message);
        // Its range, the pool's first, stays its own.
        Assert.Equal(Pool.Start + Range, _registry.Allocate("next", Range, null).Start);
    }

    private void Declare(string name, string yaml)
    {
        Directory.CreateDirectory(_config.DefinitionsDir);
        File.WriteAllText(Path.Combine(_config.DefinitionsDir, name + ".yaml"), yaml);
    }

    /// <summary>Waits for the jobs a sync started (their builds fail on the scripted tools, which is not what is tested).</summary>
    private async Task JobsEndedAsync()
    {
        var ended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _jobs.JobRemoved += (_, _) =>
        {
            if (_jobs.List().Count == 0)
            {
                ended.TrySetResult();
            }
        };
        if (_jobs.List().Count > 0)
        {
            await ended.Task;
        }
    }

    [Fact]
    public async Task Sync_creates_a_new_file_updates_a_changed_one_and_leaves_an_unchanged_one()
    {
        Leave(Phase.Ready, declarative: true);
        await _daemon.Recovery.RunAsync(CancellationToken.None);
        Declare(_name, Yaml);
        Declare("fresh-" + _name[4..], Yaml);
        Declare("broken-" + _name[4..], "system: [ nope\n");

        var first = _daemon.Declarative.Apply();
        Assert.Equal((1, 0, 1, 1, 0), (first.Created, first.Updated, first.Unchanged, first.Failed, first.Destroyed));
        Assert.Equal([("fresh-" + _name[4..], "create")], _started);
        await JobsEndedAsync();

        _started.Clear();
        Declare(_name, Yaml + "autostart: true\n");
        var second = _daemon.Declarative.Apply();
        Assert.Equal(1, second.Updated);
        Assert.Contains((_name, "update"), _started);
        await JobsEndedAsync();
    }

    [Fact]
    public async Task A_fifo_among_the_files_is_refused_without_waiting_for_a_writer()
    {
        // Opening a FIFO to read blocks until something writes to it: the reload (and a daemon stop
        // behind it) would wait for ever, every later reload too.
        await _daemon.Recovery.RunAsync(CancellationToken.None);
        Declare("fresh-" + _name[4..], Yaml);
        string fifo = Path.Combine(_config.DefinitionsDir, "piped-" + _name[4..] + ".yaml");
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", [fifo]))
        {
            await mkfifo.WaitForExitAsync();
            Assert.Equal(0, mkfifo.ExitCode);
        }
        var apply = Task.Run(_daemon.Declarative.Apply);
        try
        {
            var changes = await apply.WaitAsync(TimeSpan.FromMinutes(1));
            Assert.Equal((1, 1), (changes.Created, changes.Failed));
            Assert.Equal([("fresh-" + _name[4..], "create")], _started);
        }
        finally
        {
            if (!apply.IsCompleted)
            {
                // Lets a reader that is stuck in open() go, so that the test run can end.
                await File.WriteAllTextAsync(fifo, "");
            }
        }
        await JobsEndedAsync();
    }

    [Fact]
    public async Task A_vanished_file_leaves_its_container_when_pruneDeclarative_is_off()
    {
        Leave(Phase.Ready, declarative: true);
        await _daemon.Recovery.RunAsync(CancellationToken.None);
        var gone = _daemon.Declarative.Apply();
        Assert.Equal(0, gone.Destroyed);
        Assert.Single(_registry.List());
        Assert.Empty(_started);
    }

    [Fact]
    public async Task A_file_naming_an_imperative_container_changes_nothing()
    {
        Leave(Phase.Ready, declarative: false);
        await _daemon.Recovery.RunAsync(CancellationToken.None);
        Declare(_name, Yaml + "autostart: true\n");
        var changes = _daemon.Declarative.Apply();
        Assert.Equal((0, 0, 0), (changes.Created, changes.Updated, changes.Failed));
        Assert.Empty(_started);
    }

    /// <summary>
    /// The host boots with a changed declaration of an autostart container (nixos-rebuild boot, then
    /// a reboot): the daemon's start begins its update first, and autostart must not skip the
    /// container as busy — it starts it once the update's job ends.
    /// </summary>
    [Fact]
    public async Task An_autostart_container_busy_with_its_declarations_update_at_daemon_start_is_started_when_the_job_ends()
    {
        Leave(Phase.Ready, declarative: true);
        _store.WriteDefinition(_name, Yaml + "autostart: true\n");
        await _daemon.Recovery.RunAsync(CancellationToken.None);
        Declare(_name, Yaml + "autostart: true\nstopTimeout: 5s\n");

        await _daemon.Reconciler.StartAsync(CancellationToken.None);

        Assert.Contains((_name, "update"), _started);
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!_started.Contains((_name, "start")) && !deadline.IsCancellationRequested)
        {
            await Task.Delay(10, CancellationToken.None);
        }
        Assert.Contains((_name, "start"), _started);
        await JobsEndedAsync();
    }

    /// <summary>
    /// A restart (or restore, reset, restart activation) had stopped the container when the daemon
    /// died, and its declaration changed meanwhile: the start that restart owes it begins first,
    /// and the declaration is applied when that job ends — not the update first, which left the
    /// resumed start busy and the container stopped.
    /// </summary>
    [Fact]
    public async Task A_container_a_restart_left_stopped_is_started_at_daemon_start_also_when_its_declaration_changed()
    {
        Leave(Phase.Ready, declarative: true);
        _store.Write(State(Phase.Ready, declarative: true) with { RestartPending = true });
        await _daemon.Recovery.RunAsync(CancellationToken.None);
        Declare(_name, Yaml + "stopTimeout: 5s\n");

        await _daemon.Reconciler.StartAsync(CancellationToken.None);

        Assert.Contains((_name, "activate"), _started);
        await JobsEndedAsync();
    }
}
