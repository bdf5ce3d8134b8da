using ContainerD.Domain;
using ContainerD.Os.Accounts;
using Microsoft.Extensions.Logging;
using Tmds.DBus.Protocol;

namespace ContainerD.Daemon.Bus;

/// <summary>The daemon's connection and what all its bus objects share: signals and the caller check.</summary>
public sealed class BusContext(DBusConnection connection, string adminGroup, ILogger log)
{
    public DBusConnection Connection { get; } = connection;
    public ILogger Log { get; } = log;

    public void Emit(string path, string @interface, string member, string? signature, BodyWriter? body = null)
    {
        var writer = Connection.GetMessageWriter();
        writer.WriteSignalHeader(null, path, @interface, member, signature);
        body?.Invoke(ref writer);
        Connection.TrySendMessage(writer.CreateMessage());
        writer.Dispose();
    }

    /// <summary>
    /// Only root and members of the admin group may change containers. Checked here, per call,
    /// because a session or private bus applies no policy file (STYLE #15).
    /// </summary>
    public async Task RequireAdminAsync(MethodContext context)
    {
        string sender = context.Request.SenderAsString ?? throw new ContainerDException(ErrorKind.AccessDenied, "the call has no sender");
        uint uid = await CallerUidAsync(sender).ConfigureAwait(false);
        if (!UnixAccounts.IsRootOrMember(uid, adminGroup))
        {
            throw new ContainerDException(ErrorKind.AccessDenied,
                $"{UnixAccounts.Describe(uid)} may not {context.Request.MemberAsString}: only root and members of group '{adminGroup}' may change containers");
        }
    }

    private Task<uint> CallerUidAsync(string sender)
    {
        MessageBuffer Create()
        {
            var writer = Connection.GetMessageWriter();
            writer.WriteMethodCallHeader("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                "GetConnectionUnixUser", "s", MessageFlags.None);
            writer.WriteString(sender);
            var message = writer.CreateMessage();
            writer.Dispose();
            return message;
        }
        return Connection.CallMethodAsync(Create(), static (Message m, object? _) => m.GetBodyReader().ReadUInt32());
    }
}
