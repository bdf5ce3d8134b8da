using System.Collections.Concurrent;
using ContainerD.Contract;
using ContainerD.Domain;
using ContainerD.Os.Accounts;
using Microsoft.Extensions.Logging;
using Tmds.DBus.Protocol;

namespace ContainerD.Daemon.Bus;

/// <summary>The daemon's connection and what all its bus objects share: signals, the caller check, callers leaving.</summary>
public sealed class BusContext(DBusConnection connection, string adminGroup, ILogger log, Task? ready = null)
{
    /// <summary>
    /// Callers' uids, by unique name: the bus never gives a unique name to a second connection, and
    /// a connection's uid is fixed when it connects, so an answer stays true; a client's second call
    /// saves the round trip to the bus. Bounded: emptied when it holds MaxKnownCallers.
    /// </summary>
    private readonly ConcurrentDictionary<string, uint> _callerUids = new(StringComparer.Ordinal);
    private const int MaxKnownCallers = 1024;

    public DBusConnection Connection { get; } = connection;
    public ILogger Log { get; } = log;
    public string AdminGroup { get; } = adminGroup;

    /// <summary>
    /// Completes once recovery has loaded every container. The name is owned before that (a daemon
    /// that cannot own it must stop before it touches anything): calls that arrive meanwhile, such
    /// as the one that activated the daemon, wait for it instead of meeting an empty daemon.
    /// </summary>
    public Task Ready { get; } = ready ?? Task.CompletedTask;

    /// <summary>Sends a signal: to everyone, or to one peer when destination is given. The body writes its text with BusWriting.WriteText.</summary>
    public void Emit(string path, string @interface, string member, string? signature, BodyWriter? body = null, string? destination = null)
    {
        var writer = Connection.GetMessageWriter();
        writer.WriteSignalHeader(destination, path, @interface, member, signature);
        body?.Invoke(ref writer);
        Connection.TrySendMessage(writer.CreateMessage());
        writer.Dispose();
    }

    /// <summary>Sends one of the contract's signals, with the signature the contract gives it.</summary>
    public void Emit(string path, WireMember signal, BodyWriter body, string? destination = null) =>
        Emit(path, signal.Interface, signal.Name, signal.Signature, body, destination);

    /// <summary>
    /// Only root and members of the admin group may change containers. Checked here, per call,
    /// because a session or private bus applies no policy file (STYLE #15).
    /// </summary>
    /// <returns>The caller's uid.</returns>
    public async Task<uint> RequireAdminAsync(MethodContext context, string? what = null)
    {
        string sender = context.Request.SenderAsString ?? throw new ContainerDException(ErrorKind.AccessDenied, "the call has no sender");
        uint uid = await CallerUidAsync(sender).ConfigureAwait(false);
        if (!UnixAccounts.IsRootOrMember(uid, AdminGroup))
        {
            throw new ContainerDException(ErrorKind.AccessDenied,
                $"{UnixAccounts.Describe(uid)} may not {what ?? context.Request.MemberAsString}: only root and members of group '{AdminGroup}' may change containers");
        }
        return uid;
    }

    /// <summary>Whether the caller is root or in the admin group (for what only they may read).</summary>
    public async Task<bool> IsAdminAsync(MethodContext context)
    {
        string? sender = context.Request.SenderAsString;
        return sender is not null && UnixAccounts.IsRootOrMember(await CallerUidAsync(sender).ConfigureAwait(false), AdminGroup);
    }

    /// <summary>
    /// A token canceled when the caller leaves the bus (NameOwnerChanged with no new owner), for
    /// work done for one call: RunCommand stops the command when nobody waits for its output. It
    /// returns at once: the match (and the check that the caller had not left before it) goes to
    /// the bus while the work starts, so the call does not wait two round trips for it.
    /// </summary>
    public CallerWatch WatchCaller(MethodContext context)
    {
        var watch = new CallerWatch();
        if (context.Request.SenderAsString is { } sender)
        {
            _ = SubscribeAsync(sender, watch);
        }
        return watch;
    }

    private async Task SubscribeAsync(string sender, CallerWatch watch)
    {
        try
        {
            IDisposable match = await Connection.AddMatchAsync(NameOwnerChanges.For(sender), NameOwnerChanges.ReadOwners,
                (Notification<(string Old, string New)> n) =>
                {
                    if (!n.HasValue || n.Value.New.Length == 0)
                    {
                        watch.Cancel();
                    }
                },
                emitOnCapturedContext: false).ConfigureAwait(false);
            watch.Hold(match);
            // It may have left before the match was in place.
            if (!await NameHasOwnerAsync(sender).ConfigureAwait(false))
            {
                watch.Cancel();
            }
        }
        catch (Exception e) when (e is DBusConnectionException or DBusConnectionClosedException or DBusErrorReplyException or ObjectDisposedException)
        {
            // The daemon's own connection is closing: it is going away, and the work with it.
            Log.LogDebug("cannot watch caller {Sender}: {Message}", sender, e.Message);
        }
    }

    private Task<bool> NameHasOwnerAsync(string name)
    {
        MessageBuffer Create()
        {
            var writer = Connection.GetMessageWriter();
            writer.WriteMethodCallHeader("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "NameHasOwner", "s", MessageFlags.None);
            writer.WriteText(name);
            var message = writer.CreateMessage();
            writer.Dispose();
            return message;
        }
        return Connection.CallMethodAsync(Create(), static (Message m, object? _) => m.GetBodyReader().ReadBool());
    }

    private async Task<uint> CallerUidAsync(string sender)
    {
        if (_callerUids.TryGetValue(sender, out uint known))
        {
            return known;
        }
        uint uid = await AskCallerUidAsync(sender).ConfigureAwait(false);
        if (_callerUids.Count >= MaxKnownCallers)
        {
            _callerUids.Clear();
        }
        _callerUids[sender] = uid;
        return uid;
    }

    private Task<uint> AskCallerUidAsync(string sender)
    {
        MessageBuffer Create()
        {
            var writer = Connection.GetMessageWriter();
            writer.WriteMethodCallHeader("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                "GetConnectionUnixUser", "s", MessageFlags.None);
            writer.WriteText(sender);
            var message = writer.CreateMessage();
            writer.Dispose();
            return message;
        }
        return Connection.CallMethodAsync(Create(), static (Message m, object? _) => m.GetBodyReader().ReadUInt32());
    }
}

/// <summary>The caller's presence on the bus while one call runs; dispose when the call is answered.</summary>
/// <remarks>
/// No lock: Cancel is called from the bus's read loop, inside the connection's own lock, and
/// Dispose disposes the match, which takes that lock — a lock of ours held across both deadlocked
/// the connection.
/// </remarks>
public sealed class CallerWatch : IDisposable
{
    private readonly CancellationTokenSource _left = new();
    private IDisposable? _match;
    private int _disposed;

    public CancellationToken Left => _left.Token;

    internal void Cancel()
    {
        try
        {
            _left.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The call was answered meanwhile.
        }
    }

    /// <summary>The bus match, once it is in place; dropped at once when the call was answered first.</summary>
    internal void Hold(IDisposable match)
    {
        Interlocked.Exchange(ref _match, match);
        if (Volatile.Read(ref _disposed) == 1)
        {
            Interlocked.Exchange(ref _match, null)?.Dispose();
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }
        Interlocked.Exchange(ref _match, null)?.Dispose();
        _left.Dispose();
    }
}

/// <summary>
/// How the daemon puts text into a message: every string through BusText (valid UTF-8, no NUL,
/// bounded). A test checks that nothing in the daemon calls WriteString or ReplyError but this.
/// </summary>
public static class BusWriting
{
    public static void WriteText(ref this MessageWriter writer, string? text, int maxBytes = BusText.MaxMessageBytes) =>
        writer.WriteString(BusText.Safe(text, maxBytes));

    public static void ReplyErrorText(this MethodContext context, string errorName, string? message) =>
        context.ReplyError(errorName, BusText.Safe(message));

    /// <summary>A property value made bus-safe: strings and arrays of strings go through BusText.</summary>
    public static VariantValue SafeValue(VariantValue value, int maxBytes) => value.Type switch
    {
        VariantValueType.String => BusText.Safe(value.GetString(), maxBytes),
        VariantValueType.Array when value.ItemType == VariantValueType.String =>
            VariantValue.Array(value.GetArray<string>().Select(s => BusText.Safe(s, maxBytes)).ToArray()),
        _ => value,
    };
}
