using System.Collections.Concurrent;
using ContainerD.Contract;
using ContainerD.Daemon.Containers;
using ContainerD.Daemon.Jobs;
using ContainerD.Domain;
using ContainerD.Domain.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Systemd;
using Microsoft.Extensions.Logging;
using Tmds.DBus.Protocol;

namespace ContainerD.Daemon.Bus;

/// <summary>
/// Puts the daemon on the bus. ClaimAsync (before recovery touches anything): connect and own the
/// name, or stop with one line saying why. StartAsync (after recovery): export the containers, let
/// calls through, report READY=1, begin autostarts and the watchdog. A lost connection ends the
/// daemon with status 1 at once (Restart=on-failure brings it back). Stop: leave the bus;
/// containers keep running, they are not the daemon's children.
/// </summary>
public sealed class BusService(
    DaemonConfig config,
    ContainerRuntime runtime,
    Snapshots snapshots,
    Operations.Operations operations,
    SessionService sessions,
    UsageService usage,
    ContainerRegistry registry,
    JobManager jobs,
    ISystemdNotifier notifier,
    DaemonExit exit,
    IHostApplicationLifetime lifetime,
    ILogger<BusService> log) : IHostedService, IDisposable
{
    private static readonly TimeSpan BusAnswerTimeout = TimeSpan.FromSeconds(30);
    private readonly ConcurrentDictionary<string, ContainerObject> _containerObjects = new(StringComparer.Ordinal);
    private readonly BusRouter _router = new();
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private DBusConnection? _connection;
    private BusContext? _bus;
    private volatile bool _leaving;
    private Timer? _startupKeepAlive;

    /// <summary>
    /// Connects and owns the bus name, serving the Manager (its calls wait until StartAsync). Throws
    /// a one-line ContainerDException when the bus is unreachable, the name is owned, or the policy
    /// refuses it.
    /// </summary>
    public async Task ClaimAsync()
    {
        // systemd's watchdog runs from the daemon's start: until READY, a timer keeps it quiet
        // (recovery may stop containers for minutes; TimeoutStartSec bounds the start instead).
        if (notifier.IsEnabled && Watchdog.IntervalFromEnvironment() is { } interval)
        {
            _startupKeepAlive = new Timer(_ => notifier.Notify(new ServiceState("WATCHDOG=1")), null, TimeSpan.Zero, interval / 2);
        }
        string bus = BusAddress.Describe(config.Bus);
        _connection = new DBusConnection(BusAddress.Resolve(config.Bus));
        try
        {
            // A bus that takes the connection but never answers (a stopped dbus-daemon) is as unreachable.
            await _connection.ConnectAsync().AsTask().WaitAsync(BusAnswerTimeout).ConfigureAwait(false);
        }
        catch (DBusConnectionException e)
        {
            throw new ContainerDException(ErrorKind.Failed, $"cannot connect to {bus}: {e.Message}", e);
        }
        catch (TimeoutException)
        {
            throw new ContainerDException(ErrorKind.Failed, $"cannot connect to {bus}: it did not answer within {BusAnswerTimeout.TotalSeconds} s");
        }
        _bus = new BusContext(_connection, config.AdminGroup, log, _ready.Task);
        _connection.AddMethodHandler(_router);
        _router.Add(new ManagerObject(_bus, registry, runtime, snapshots, operations, jobs));
        bool owned;
        try
        {
            owned = await _connection.TryRequestNameAsync(config.BusName, RequestNameOptions.None).WaitAsync(BusAnswerTimeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new ContainerDException(ErrorKind.Failed, $"{bus} did not answer the request for {config.BusName} within {BusAnswerTimeout.TotalSeconds} s");
        }
        catch (DBusErrorReplyException e)
        {
            throw new ContainerDException(ErrorKind.Failed,
                $"{bus} does not let containerctld own {config.BusName} ({e.ErrorName}: {e.ErrorMessage}); its policy must allow root to own it (io.containerctl.ContainerD1.conf)", e);
        }
        if (!owned)
        {
            throw new ContainerDException(ErrorKind.Failed,
                $"the bus name {config.BusName} is owned by another process on {bus}: is containerctld already running?");
        }
        _ = ExitWhenDisconnectedAsync(_connection, bus);
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (_connection is null || _bus is null)
        {
            throw new InvalidOperationException("ClaimAsync must come before the host starts");
        }
        foreach (var container in registry.List())
        {
            AddContainerObject(container);
        }
        registry.Added += OnContainerAdded;
        registry.Removed += OnContainerRemoved;
        registry.Changed += OnContainerChanged;
        jobs.JobNew += OnJobNew;
        jobs.JobLog += OnJobLog;
        jobs.JobRemoved += OnJobRemoved;
        _ready.TrySetResult();

        log.LogInformation("containerctld is on {Bus} as {Name} with {Count} containers", BusAddress.Describe(config.Bus), config.BusName, registry.List().Count);
        // READY=1 only now: the name is owned and every container is re-adopted. Sent whenever
        // NOTIFY_SOCKET is set, not only when systemd is our parent (which UseSystemd requires).
        _startupKeepAlive?.Dispose();
        if (notifier.IsEnabled)
        {
            notifier.Notify(ServiceState.Ready);
            if (Watchdog.IntervalFromEnvironment() is { } interval)
            {
                _ = new Watchdog(interval, HealthCheckAsync, () => notifier.Notify(new ServiceState("WATCHDOG=1")), log)
                    .RunAsync(lifetime.ApplicationStopping);
            }
        }
        // The containers' own start-up (declarative definitions, autostart) follows in StartupReconciler.
        return Task.CompletedTask;
    }

    /// <summary>
    /// Healthy means the bus loop answers: a call to our own Manager goes out through the bus, is
    /// dispatched like any client's (off the read loop, through the jobs' lock) and its reply comes back.
    /// </summary>
    private Task HealthCheckAsync(CancellationToken cancellationToken)
    {
        var connection = _connection!;
        MessageBuffer Create()
        {
            using var writer = connection.GetMessageWriter();
            writer.WriteMethodCallHeader(connection.UniqueName, Names.ManagerPath, Names.ManagerInterface, Wire.Manager.ListJobs, null, MessageFlags.None);
            return writer.CreateMessage();
        }
        return connection.CallMethodAsync(Create()).WaitAsync(cancellationToken);
    }

    private async Task ExitWhenDisconnectedAsync(DBusConnection connection, string bus)
    {
        Exception? reason = await connection.DisconnectedAsync().ConfigureAwait(false);
        if (_leaving)
        {
            return;
        }
        log.LogCritical("containerctld lost its connection to {Bus}: {Reason}; exiting with status 1 so that systemd restarts it (containers keep running)",
            bus, reason?.Message ?? "closed");
        exit.Fail(1);
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        log.LogInformation("containerctld stopping; containers keep running");
        _leaving = true;
        _connection?.Dispose();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        _startupKeepAlive?.Dispose();
        _leaving = true;
        _connection?.Dispose();
    }

    private void AddContainerObject(Container container)
    {
        var obj = new ContainerObject(_bus!, container, sessions, usage);
        obj.SnapshotProperties();
        _containerObjects[container.Name] = obj;
        _router.Add(obj);
    }

    private void OnContainerAdded(Container container)
    {
        AddContainerObject(container);
        string path = Names.ContainerPath(container.Name);
        _bus!.Emit(Names.ManagerPath, Wire.Of(Wire.Manager.ContainerNew), (ref MessageWriter w) =>
        {
            w.WriteText(container.Name);
            w.WriteObjectPath(path);
        });
    }

    private void OnContainerRemoved(Container container)
    {
        string path = Names.ContainerPath(container.Name);
        _containerObjects.TryRemove(container.Name, out _);
        _router.Remove(path);
        _bus!.Emit(Names.ManagerPath, Wire.Of(Wire.Manager.ContainerRemoved), (ref MessageWriter w) =>
        {
            w.WriteText(container.Name);
            w.WriteObjectPath(path);
        });
    }

    private void OnContainerChanged(Container container)
    {
        if (_containerObjects.TryGetValue(container.Name, out var obj))
        {
            obj.EmitPropertiesChanged();
        }
    }

    private void OnJobNew(Job job)
    {
        string path = Names.JobPath(job.Id);
        _router.Add(new JobObject(_bus!, job));
        _bus!.Emit(Names.ManagerPath, Wire.Of(Wire.Manager.JobNew), (ref MessageWriter w) =>
        {
            w.WriteUInt32(job.Id);
            w.WriteObjectPath(path);
            w.WriteText(job.Container);
            w.WriteText(job.Operation);
        });
    }

    /// <summary>
    /// A job's log is for the admin who started it: JobLog goes to that caller only (a unicast
    /// signal), since a build's output may show what it evaluated. The daemon's own jobs
    /// (declarative, autostart) log to the journal.
    /// </summary>
    private void OnJobLog(Job job, string line)
    {
        if (job.Caller is null)
        {
            log.LogDebug("job {Id}: {Line}", job.Id, line);
            return;
        }
        _bus!.Emit(Names.ManagerPath, Wire.Of(Wire.Manager.JobLog), (ref MessageWriter w) =>
        {
            w.WriteUInt32(job.Id);
            w.WriteText(line, BusText.MaxLineBytes);
        }, destination: job.Caller);
    }

    /// <summary>
    /// JobRemoved goes to everyone with the result and the error's name; its message (a failure's
    /// details) only to the caller that started the job, first, in a signal addressed to it.
    /// Admins read it later in the container's LastJobMessage.
    /// </summary>
    private void OnJobRemoved(Job job, JobOutcome outcome)
    {
        string path = Names.JobPath(job.Id);
        _router.Remove(path);
        void Send(string message, string? destination) =>
            _bus!.Emit(Names.ManagerPath, Wire.Of(Wire.Manager.JobRemoved), (ref MessageWriter w) =>
            {
                w.WriteUInt32(job.Id);
                w.WriteObjectPath(path);
                w.WriteText(job.Container);
                w.WriteText(job.Operation);
                w.WriteText(outcome.Result);
                w.WriteText(message);
                w.WriteText(outcome.ErrorName);
            }, destination);
        if (job.Caller is not null && outcome.Message.Length > 0)
        {
            Send(outcome.Message, job.Caller);
        }
        Send("", null);
    }
}
