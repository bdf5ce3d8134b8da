using System.Runtime.InteropServices;
using System.Collections.Concurrent;
using Microsoft.Win32.SafeHandles;
using Tmds.DBus.Protocol;

namespace ContainerD.Contract;

/// <summary>
/// A typed client for the daemon's API, written against Tmds.DBus.Protocol so the CLI can be
/// NativeAOT. Failures surface as DBusErrorReplyException with an io.containerctl…Error.* name.
/// </summary>
public sealed class ContainerDClient : IDisposable
{
    private readonly DBusConnection _connection;
    private readonly string _busName;
    private readonly ConcurrentDictionary<string, TaskCompletionSource<JobEnd>> _jobEnds = new();
    private IDisposable? _jobRemovedWatch;
    private Task<Task>? _daemonGone;
    private IDisposable? _daemonWatch;
    private readonly IDisposable? _transport;

    private ContainerDClient(DBusConnection connection, string busName, IDisposable? transport = null)
    {
        _connection = connection;
        _busName = busName;
        _transport = transport;
    }

    public DBusConnection Connection => _connection;

    /// <summary>Connects to "system", "session" or an address. Throws DBusConnectFailedException when nothing listens.</summary>
    public static async Task<ContainerDClient> ConnectAsync(string bus, string busName = Names.DefaultBusName)
    {
        var connection = new DBusConnection(BusAddress.Resolve(bus));
        try
        {
            await connection.ConnectAsync().ConfigureAwait(false);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
        return new ContainerDClient(connection, busName);
    }

    /// <summary>
    /// Connects to the bus of another host through ssh (see <see cref="SshConnectionOptions"/>); bus
    /// names the bus there. ssh's messages once connected go to onSshMessage.
    /// </summary>
    /// <exception cref="RemoteUnreachableException">ssh failed, or the bridge on the far side did: the message says which.</exception>
    public static async Task<ContainerDClient> ConnectAsync(string bus, SshRoute via, Action<string>? onSshMessage = null,
        string busName = Names.DefaultBusName)
    {
        var options = new SshConnectionOptions(via, bus, onSshMessage);
        var connection = new DBusConnection(options);
        try
        {
            await connection.ConnectAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is not (OperationCanceledException or RemoteUnreachableException))
        {
            // Whatever broke the handshake (ssh gone, a bridge that failed, bytes that are not D-Bus),
            // ssh's own words say most about it — asked before the connection goes, which kills ssh
            // and would leave only a guess (a bridge that found no bus exits on its own, saying why).
            string why = options.DescribeFailure(e);
            connection.Dispose();
            options.Dispose();
            throw new RemoteUnreachableException(why, e);
        }
        catch
        {
            connection.Dispose();
            options.Dispose();
            throw;
        }
        options.Connected();
        return new ContainerDClient(connection, busName, options);
    }

    public void Dispose()
    {
        _daemonWatch?.Dispose();
        _jobRemovedWatch?.Dispose();
        _connection.Dispose();
        _transport?.Dispose();
    }

    // ---- Manager methods ----

    public Task<ContainerSummary[]> ListContainersAsync() =>
        Call(Names.ManagerPath, Wire.Of(Wire.Manager.ListContainers), null, static (Message m, object? _) =>
        {
            var reader = m.GetBodyReader();
            var rows = new List<ContainerSummary>();
            ArrayEnd end = reader.ReadArrayStart(DBusType.Struct);
            while (reader.HasNext(end))
            {
                reader.AlignStruct();
                rows.Add(new ContainerSummary(reader.ReadString(), reader.ReadString(), reader.ReadUInt32(), reader.ReadUInt32(),
                    reader.ReadUInt32(), reader.ReadUInt32(), reader.ReadObjectPathAsString()));
            }
            return rows.ToArray();
        });

    public Task<JobSummary[]> ListJobsAsync() =>
        Call(Names.ManagerPath, Wire.Of(Wire.Manager.ListJobs), null, static (Message m, object? _) =>
        {
            var reader = m.GetBodyReader();
            var rows = new List<JobSummary>();
            ArrayEnd end = reader.ReadArrayStart(DBusType.Struct);
            while (reader.HasNext(end))
            {
                reader.AlignStruct();
                rows.Add(new JobSummary(reader.ReadUInt32(), reader.ReadString(), reader.ReadString(), reader.ReadString(), reader.ReadObjectPathAsString()));
            }
            return rows.ToArray();
        });

    public Task<GenerationInfo[]> ListGenerationsAsync(string name) =>
        Call(Names.ManagerPath, Wire.Of(Wire.Manager.ListGenerations), [name], static (Message m, object? _) =>
        {
            var reader = m.GetBodyReader();
            var rows = new List<GenerationInfo>();
            ArrayEnd end = reader.ReadArrayStart(DBusType.Struct);
            while (reader.HasNext(end))
            {
                reader.AlignStruct();
                rows.Add(new GenerationInfo(reader.ReadUInt32(), reader.ReadUInt64(), reader.ReadString(), reader.ReadBool()));
            }
            return rows.ToArray();
        });

    /// <summary>How the jobs since the daemon started ended: the duration buckets' bounds (seconds) and a row per operation and result.</summary>
    public Task<(double[] Bounds, JobStatisticsRow[] Rows)> GetJobStatisticsAsync() =>
        Call(Names.ManagerPath, Wire.Of(Wire.Manager.GetJobStatistics), null, static (Message m, object? _) =>
        {
            var reader = m.GetBodyReader();
            double[] bounds = reader.ReadArrayOfDouble();
            var rows = new List<JobStatisticsRow>();
            ArrayEnd end = reader.ReadArrayStart(DBusType.Struct);
            while (reader.HasNext(end))
            {
                reader.AlignStruct();
                rows.Add(new JobStatisticsRow(reader.ReadString(), reader.ReadString(), reader.ReadUInt64(), reader.ReadDouble(), reader.ReadArrayOfUInt64()));
            }
            return (bounds, rows.ToArray());
        });

    public Task<string> GetContainerAsync(string name) => CallForPath(Wire.Manager.GetContainer, [name]);
    public Task<string> CreateContainerAsync(string name, string yaml) => CallForPath(Wire.Manager.CreateContainer, [name, yaml]);
    public Task<string> StartContainerAsync(string name) => CallForPath(Wire.Manager.StartContainer, [name]);
    public Task<string> StopContainerAsync(string name, bool force) => CallForPath(Wire.Manager.StopContainer, [name, force]);
    public Task<string> StopContainerAsync(string name, bool force, uint timeoutSeconds) =>
        CallForPath(Wire.Manager.StopContainerWithTimeout, [name, force, timeoutSeconds]);
    public Task<string> RestartContainerAsync(string name) => CallForPath(Wire.Manager.RestartContainer, [name]);
    public Task<string> UpdateContainerAsync(string name, string yaml) => CallForPath(Wire.Manager.UpdateContainer, [name, yaml]);
    public Task<string> RollbackContainerAsync(string name, uint generation) => CallForPath(Wire.Manager.RollbackContainer, [name, generation]);
    public Task<string> DestroyContainerAsync(string name) => CallForPath(Wire.Manager.DestroyContainer, [name]);
    /// <summary>which: "old" (all but the current), "30d" (older than 30 days), "+5" (all but the newest 5).</summary>
    public Task<string> DeleteGenerationsAsync(string name, string which) => CallForPath(Wire.Manager.DeleteGenerations, [name, which]);
    public Task<string> SnapshotContainerAsync(string name, string snapshot) => CallForPath(Wire.Manager.SnapshotContainer, [name, snapshot]);
    public Task<string> RestoreSnapshotAsync(string name, string snapshot) => CallForPath(Wire.Manager.RestoreSnapshot, [name, snapshot]);
    public Task<string> DeleteSnapshotAsync(string name, string snapshot) => CallForPath(Wire.Manager.DeleteSnapshot, [name, snapshot]);
    public Task<string> ResetContainerAsync(string name) => CallForPath(Wire.Manager.ResetContainer, [name]);

    /// <summary>The daemon writes the archive into archive (a file or pipe the caller opened); the message takes the handle and closes it once sent.</summary>
    public Task<string> ExportContainerAsync(string name, SafeHandle archive, bool allGenerations = false, bool closure = true) =>
        CallForPath(Wire.Manager.ExportContainer, [name, archive,
            new Dictionary<string, bool> { [ExportOptions.AllGenerations] = allGenerations, [ExportOptions.Closure] = closure }]);

    /// <summary>The daemon reads the archive from archive; name empty keeps the archive's. The message takes the handle.</summary>
    public Task<string> ImportContainerAsync(SafeHandle archive, string name) => CallForPath(Wire.Manager.ImportContainer, [archive, name]);

    public Task<SnapshotRow[]> ListSnapshotsAsync(string name) =>
        Call(Names.ManagerPath, Wire.Of(Wire.Manager.ListSnapshots), [name], static (Message m, object? _) =>
        {
            var reader = m.GetBodyReader();
            var rows = new List<SnapshotRow>();
            ArrayEnd end = reader.ReadArrayStart(DBusType.Struct);
            while (reader.HasNext(end))
            {
                reader.AlignStruct();
                rows.Add(new SnapshotRow(reader.ReadString(), reader.ReadUInt64(), reader.ReadUInt32(), reader.ReadString()));
            }
            return rows.ToArray();
        });
    public Task CancelJobAsync(uint id) => Call<bool>(Names.ManagerPath, Wire.Of(Wire.Manager.CancelJob), [id], static (_, _) => true);

    // ---- Objects ----

    /// <summary>All properties of an object's interface (org.freedesktop.DBus.Properties.GetAll).</summary>
    public Task<Dictionary<string, VariantValue>> GetAllPropertiesAsync(string path, string @interface) =>
        Call(path, Names.PropertiesInterface, "GetAll", "s", [@interface],
            static (Message m, object? _) => m.GetBodyReader().ReadDictionaryOfStringToVariantValue());

    /// <summary>One property (org.freedesktop.DBus.Properties.Get).</summary>
    public Task<VariantValue> GetPropertyAsync(string path, string @interface, string name) =>
        Call(path, Names.PropertiesInterface, "Get", "ss", [@interface, name],
            static (Message m, object? _) => m.GetBodyReader().ReadVariantValue());

    public Task<CommandResult> RunCommandAsync(string containerPath, IReadOnlyList<string> argv, IReadOnlyDictionary<string, string> env)
    {
        MessageBuffer Create()
        {
            using var writer = _connection.GetMessageWriter();
            var member = Wire.Of(Names.ContainerInterface, Wire.Container.RunCommand);
            writer.WriteMethodCallHeader(_busName, containerPath, member.Interface, member.Name, member.In, MessageFlags.None);
            writer.WriteArray(argv.ToArray());
            ArrayStart dict = writer.WriteDictionaryStart();
            foreach (var (key, value) in env)
            {
                writer.WriteDictionaryEntryStart();
                writer.WriteString(key);
                writer.WriteString(value);
            }
            writer.WriteDictionaryEnd(dict);
            return writer.CreateMessage();
        }
        return _connection.CallMethodAsync(Create(), static (Message m, object? _) =>
        {
            var reader = m.GetBodyReader();
            return new CommandResult(reader.ReadInt32(), reader.ReadArrayOfByte(), reader.ReadArrayOfByte());
        });
    }

    /// <summary>The master of a new pty with a login shell inside the container on its other side.</summary>
    public Task<SafeFileHandle> OpenShellAsync(string containerPath) => CallForHandle(containerPath, Wire.Container.OpenShell);

    /// <summary>The container's console log, open for reading from its start.</summary>
    public Task<SafeFileHandle> OpenConsoleLogAsync(string containerPath) => CallForHandle(containerPath, Wire.Container.OpenConsoleLog);

    /// <summary>A running container's figures (UsageKeys: each a t, Interfaces a{sa{st}}); empty when it is not running.</summary>
    public Task<Dictionary<string, VariantValue>> GetUsageAsync(string containerPath) =>
        Call(containerPath, Wire.Of(Names.ContainerInterface, Wire.Container.GetUsage), null,
            static (Message m, object? _) => m.GetBodyReader().ReadDictionaryOfStringToVariantValue());

    private Task<SafeFileHandle> CallForHandle(string path, string member) =>
        Call(path, Wire.Of(Names.ContainerInterface, member), null,
            static (Message m, object? _) => m.GetBodyReader().ReadHandle<SafeFileHandle>()
                ?? throw new InvalidOperationException($"{m.MemberAsString} returned no file descriptor"));

    // ---- Jobs ----

    /// <summary>
    /// Subscribes to JobRemoved (and JobLog when onLog is given). Call before starting jobs:
    /// a job can end before its method call's reply has been read.
    /// </summary>
    public async Task WatchJobsAsync(Action<uint, string>? onLog = null)
    {
        _jobRemovedWatch ??= await _connection.WatchSignalAsync(null, Names.ManagerPath, Names.ManagerInterface, Wire.Manager.JobRemoved,
            static (Message m, object? _) => ReadJobEnd(m),
            (Notification<JobEnd> n) =>
            {
                if (n.HasValue)
                {
                    JobCompletion(n.Value.JobPath).TrySetResult(n.Value);
                }
            },
            ObserverFlags.None, emitOnCapturedContext: false).ConfigureAwait(false);
        if (onLog is not null)
        {
            await _connection.WatchSignalAsync(null, Names.ManagerPath, Names.ManagerInterface, Wire.Manager.JobLog,
                static (Message m, object? _) =>
                {
                    var reader = m.GetBodyReader();
                    return (reader.ReadUInt32(), reader.ReadString());
                },
                (Notification<(uint Id, string Line)> n) =>
                {
                    if (n.HasValue)
                    {
                        onLog(n.Value.Id, n.Value.Line);
                    }
                },
                ObserverFlags.None, emitOnCapturedContext: false).ConfigureAwait(false);
        }
    }

    /// <summary>JobRemoved's body; a daemon from before the error argument sends six.</summary>
    private static JobEnd ReadJobEnd(Message m)
    {
        var reader = m.GetBodyReader();
        return new JobEnd(reader.ReadUInt32(), reader.ReadObjectPathAsString(), reader.ReadString(), reader.ReadString(),
            reader.ReadString(), reader.ReadString(), m.SignatureAsString == Wire.Of(Wire.Manager.JobRemoved).Signature ? reader.ReadString() : "");
    }

    /// <summary>
    /// Follows every broadcast signal of the daemon's, in the order it sent them, through one match
    /// rule (its name, every path below the Manager's): containers created and removed, their
    /// properties changing, jobs starting and ending. JobLog is not broadcast and not among them.
    /// </summary>
    public async Task<IDisposable> WatchSignalsAsync(Action<DaemonSignal> onSignal)
    {
        var rule = new MatchRule { Type = MessageType.Signal, Sender = _busName, PathNamespace = Names.ManagerPath };
        return await _connection.AddMatchAsync(rule, static (Message m, object? _) => ReadSignal(m),
            (Notification<DaemonSignal?> n) =>
            {
                if (n.HasValue && n.Value is { } signal)
                {
                    onSignal(signal);
                }
            },
            emitOnCapturedContext: false, ObserverFlags.None, null).ConfigureAwait(false);
    }

    private static DaemonSignal? ReadSignal(Message m)
    {
        string member = m.MemberAsString ?? "", @interface = m.InterfaceAsString ?? "";
        if (@interface == Names.PropertiesInterface && member == "PropertiesChanged" && m.SignatureAsString == "sa{sv}as")
        {
            var reader = m.GetBodyReader();
            return reader.ReadString() == Names.ContainerInterface
                ? new ContainerChanged(m.PathAsString ?? "", reader.ReadDictionaryOfStringToVariantValue())
                : null;
        }
        if (@interface != Names.ManagerInterface)
        {
            return null;
        }
        var body = m.GetBodyReader();
        return member switch
        {
            Wire.Manager.ContainerNew => new ContainerAppeared(body.ReadString(), body.ReadObjectPathAsString()),
            Wire.Manager.ContainerRemoved => new ContainerVanished(body.ReadString(), body.ReadObjectPathAsString()),
            Wire.Manager.JobNew => new JobStarted(body.ReadUInt32(), body.ReadObjectPathAsString(), body.ReadString(), body.ReadString()),
            Wire.Manager.JobRemoved => new JobEnded(ReadJobEnd(m)),
            _ => null,
        };
    }

    /// <summary>Waits for the end of a job started after WatchJobsAsync.</summary>
    public Task<JobEnd> WaitForJobAsync(string jobPath, CancellationToken cancellationToken = default) =>
        JobCompletion(jobPath).Task.WaitAsync(cancellationToken);

    /// <summary>Runs a job method and waits for its end.</summary>
    public async Task<JobEnd> RunJobAsync(Func<ContainerDClient, Task<string>> start, CancellationToken cancellationToken = default)
    {
        await WatchJobsAsync().ConfigureAwait(false);
        string jobPath = await start(this).ConfigureAwait(false);
        return await WaitForJobAsync(jobPath, cancellationToken).ConfigureAwait(false);
    }

    public static uint JobId(string jobPath) =>
        uint.Parse(jobPath.AsSpan(Names.JobPathPrefix.Length), System.Globalization.CultureInfo.InvariantCulture);

    private TaskCompletionSource<JobEnd> JobCompletion(string jobPath) =>
        _jobEnds.GetOrAdd(jobPath, static _ => new TaskCompletionSource<JobEnd>(TaskCreationOptions.RunContinuationsAsynchronously));

    // ---- The daemon itself ----

    /// <summary>
    /// A task that completes when the daemon goes away: its bus name loses the owner this client
    /// talked to (a crash, kill -9, a stop), or this client's own connection to the bus closes.
    /// Await this before the call whose end you wait for: a change after it is never missed. The
    /// bus sends NameOwnerChanged the moment the daemon's connection drops.
    /// </summary>
    public Task<Task> WatchDaemonAsync() => _daemonGone ??= SubscribeDaemonGoneAsync();

    private async Task<Task> SubscribeDaemonGoneAsync()
    {
        var gone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _daemonWatch = await _connection.AddMatchAsync(NameOwnerChanges.For(_busName), NameOwnerChanges.ReadOwners,
            (Notification<(string Old, string New)> n) =>
            {
                // An old owner that is not empty is the daemon we talked to (or one we could have):
                // it is gone. An empty old owner is a daemon being activated by our call.
                if (n.IsCompletion || (n.HasValue && n.Value.Old.Length > 0))
                {
                    gone.TrySetResult();
                }
            },
            emitOnCapturedContext: false, ObserverFlags.EmitOnConnectionClosed | ObserverFlags.EmitOnConnectionFailed, null).ConfigureAwait(false);
        _ = _connection.DisconnectedAsync().ContinueWith(_ => gone.TrySetResult(), CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return gone.Task;
    }

    // ---- Plumbing ----

    private Task<string> CallForPath(string member, object[] args) =>
        Call(Names.ManagerPath, Wire.Of(member), args,
            static (Message m, object? _) => m.GetBodyReader().ReadObjectPathAsString());

    /// <summary>A call of one of the contract's methods: the arguments must spell its signature.</summary>
    private Task<T> Call<T>(string path, WireMember member, object[]? args, MessageValueReader<T> reader)
    {
        string signature = Signature(args);
        return signature == member.In
            ? Call(path, member.Interface, member.Name, signature, args, reader)
            : throw new ArgumentException($"{member.Name} takes '{member.In}', the client passed '{signature}'");
    }

    private static string Signature(object[]? args) => string.Concat((args ?? []).Select(static a => a switch
    {
        string => "s",
        bool => "b",
        uint => "u",
        SafeHandle => "h",
        IReadOnlyDictionary<string, bool> => "a{sv}",
        _ => throw new ArgumentException($"unsupported argument type {a.GetType()}"),
    }));

    /// <summary>A method call whose arguments are strings, booleans and uint32s: all the API needs.</summary>
    private Task<T> Call<T>(string path, string @interface, string member, string signature, object[]? args, MessageValueReader<T> reader)
    {
        MessageBuffer Create()
        {
            using var writer = _connection.GetMessageWriter();
            writer.WriteMethodCallHeader(_busName, path, @interface, member, signature.Length == 0 ? null : signature, MessageFlags.None);
            foreach (object arg in args ?? [])
            {
                switch (arg)
                {
                    case string s: writer.WriteString(s); break;
                    case bool b: writer.WriteBool(b); break;
                    case uint u: writer.WriteUInt32(u); break;
                    case SafeHandle h: writer.WriteHandle(h); break;
                    case IReadOnlyDictionary<string, bool> options:
                        ArrayStart dict = writer.WriteDictionaryStart();
                        foreach (var (key, value) in options)
                        {
                            writer.WriteDictionaryEntryStart();
                            writer.WriteString(key);
                            writer.WriteVariantBool(value);
                        }
                        writer.WriteDictionaryEnd(dict);
                        break;
                }
            }
            return writer.CreateMessage();
        }
        return _connection.CallMethodAsync(Create(), reader);
    }
}
