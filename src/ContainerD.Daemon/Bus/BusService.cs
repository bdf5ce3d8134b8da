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
/// Puts the daemon on the bus. Start: load and re-adopt containers, export the objects, own the
/// name — only then does the host report READY=1 — and begin autostarts. Stop: leave the bus;
/// containers keep running, they are not the daemon's children.
/// </summary>
public sealed class BusService(
    DaemonConfig config,
    ContainerService containers,
    JobManager jobs,
    ISystemdNotifier notifier,
    ILogger<BusService> log) : IHostedService, IDisposable
{
    private readonly ConcurrentDictionary<string, ContainerObject> _containerObjects = new(StringComparer.Ordinal);
    private readonly BusRouter _router = new();
    private DBusConnection? _connection;
    private BusContext? _bus;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await containers.LoadAsync(cancellationToken).ConfigureAwait(false);

        _connection = new DBusConnection(BusAddress.Resolve(config.Bus));
        try
        {
            await _connection.ConnectAsync().ConfigureAwait(false);
        }
        catch (DBusConnectFailedException e)
        {
            throw new ContainerDException(ErrorKind.Failed, $"cannot connect to {BusAddress.Describe(config.Bus)}: {e.Message}", e);
        }
        _bus = new BusContext(_connection, config.AdminGroup, log);
        _connection.AddMethodHandler(_router);
        _router.Add(new ManagerObject(_bus, containers, jobs));
        foreach (var container in containers.List())
        {
            AddContainerObject(container);
        }
        containers.Added += OnContainerAdded;
        containers.Removed += OnContainerRemoved;
        containers.Changed += OnContainerChanged;
        jobs.JobNew += OnJobNew;
        jobs.JobLog += OnJobLog;
        jobs.JobRemoved += OnJobRemoved;

        if (!await _connection.TryRequestNameAsync(config.BusName, RequestNameOptions.None).ConfigureAwait(false))
        {
            throw new ContainerDException(ErrorKind.Failed,
                $"the bus name {config.BusName} is owned by another process on {BusAddress.Describe(config.Bus)}: is containerctld already running?");
        }
        log.LogInformation("containerctld is on {Bus} as {Name} with {Count} containers", BusAddress.Describe(config.Bus), config.BusName, containers.List().Count);
        // READY=1 only now: the name is owned and every container is re-adopted. Sent whenever
        // NOTIFY_SOCKET is set, not only when systemd is our parent (which UseSystemd requires).
        if (notifier.IsEnabled)
        {
            notifier.Notify(ServiceState.Ready);
        }
        containers.ApplyDeclarativeDefinitions();
        containers.StartAutostartContainers();
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        log.LogInformation("containerctld stopping; containers keep running");
        _connection?.Dispose();
        return Task.CompletedTask;
    }

    public void Dispose() => _connection?.Dispose();

    private void AddContainerObject(Container container)
    {
        var obj = new ContainerObject(_bus!, container, containers);
        obj.SnapshotProperties();
        _containerObjects[container.Name] = obj;
        _router.Add(obj);
    }

    private void OnContainerAdded(Container container)
    {
        AddContainerObject(container);
        string path = Names.ContainerPath(container.Name);
        _bus!.Emit(Names.ManagerPath, Names.ManagerInterface, "ContainerNew", "so", (ref MessageWriter w) =>
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
        _bus!.Emit(Names.ManagerPath, Names.ManagerInterface, "ContainerRemoved", "so", (ref MessageWriter w) =>
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
        _bus!.Emit(Names.ManagerPath, Names.ManagerInterface, "JobNew", "uoss", (ref MessageWriter w) =>
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
        _bus!.Emit(Names.ManagerPath, Names.ManagerInterface, "JobLog", "us", (ref MessageWriter w) =>
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
            _bus!.Emit(Names.ManagerPath, Names.ManagerInterface, "JobRemoved", "uosssss", (ref MessageWriter w) =>
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
