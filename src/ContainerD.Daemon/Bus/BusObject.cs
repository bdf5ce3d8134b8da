using ContainerD.Contract;
using ContainerD.Domain;
using Microsoft.Extensions.Logging;
using Tmds.DBus.Protocol;

namespace ContainerD.Daemon.Bus;

/// <summary>Writes a message body; a delegate because MessageWriter is a ref struct.</summary>
public delegate void BodyWriter(ref MessageWriter writer);

/// <summary>
/// What every object the daemon serves has in common: introspection, properties, method dispatch
/// off the connection's read loop, ContainerDException → named D-Bus error, and the caller check.
/// </summary>
public abstract class BusObject(string path, string @interface, ReadOnlyMemory<byte> introspectionXml, BusContext bus) : IPathMethodHandler
{
    public string Path { get; } = path;
    public bool HandlesChildPaths => false;
    protected BusContext Bus { get; } = bus;
    private readonly Lock _propertiesLock = new();
    private Dictionary<string, VariantValue>? _lastProperties;

    /// <summary>The object's properties now; empty for objects without any.</summary>
    protected virtual Dictionary<string, VariantValue> Properties() => [];

    /// <summary>Handles one call of this object's interface; returns false for an unknown method.</summary>
    protected abstract Task<bool> HandleCallAsync(MethodContext context, string member, string signature);

    public ValueTask HandleMethodAsync(MethodContext context)
    {
        if (context.IsDBusIntrospectRequest)
        {
            context.ReplyIntrospectXml([introspectionXml]);
            return default;
        }
        // Replies may need a bus round trip (the caller's uid) or a long wait: answer off the read loop.
        context.DisposesAsynchronously = true;
        _ = DispatchAsync(context);
        return default;
    }

    private async Task DispatchAsync(MethodContext context)
    {
        using (context)
        {
            try
            {
                string member = context.Request.MemberAsString ?? "";
                string signature = context.Request.SignatureAsString ?? "";
                bool handled = context.IsPropertiesInterfaceRequest
                    ? HandleProperties(context, member, signature)
                    : context.Request.InterfaceAsString is null || context.Request.InterfaceAsString == @interface
                        ? await HandleCallAsync(context, member, signature).ConfigureAwait(false)
                        : false;
                if (!handled)
                {
                    context.ReplyUnknownMethodError();
                }
            }
            catch (ContainerDException e)
            {
                context.ReplyError(Names.Error(e.Kind.ToString()), e.Message);
            }
            catch (Exception e)
            {
                Bus.Log.LogError(e, "{Member} on {Path} failed", context.Request.MemberAsString, Path);
                context.ReplyError(Names.Error(nameof(ErrorKind.Failed)), e.Message);
            }
        }
    }

    private bool HandleProperties(MethodContext context, string member, string signature)
    {
        var reader = context.Request.GetBodyReader();
        switch (member, signature)
        {
            case ("Get", "ss"):
            {
                string iface = reader.ReadString(), name = reader.ReadString();
                if (iface != @interface || !Properties().TryGetValue(name, out var value))
                {
                    context.ReplyError("org.freedesktop.DBus.Error.UnknownProperty", $"no property {iface}.{name}");
                    return true;
                }
                var writer = context.CreateReplyWriter("v");
                writer.WriteVariant(value);
                context.Reply(writer.CreateMessage());
                return true;
            }
            case ("GetAll", "s"):
            {
                string iface = reader.ReadString();
                var writer = context.CreateReplyWriter("a{sv}");
                writer.WriteDictionary(iface == @interface ? Properties() : []);
                context.Reply(writer.CreateMessage());
                return true;
            }
            case ("Set", "ssv"):
                context.ReplyError("org.freedesktop.DBus.Error.PropertyReadOnly", "all properties are read-only");
                return true;
            default:
                return false;
        }
    }

    /// <summary>Emits PropertiesChanged with the properties that differ from the last emission.</summary>
    public void EmitPropertiesChanged()
    {
        var now = Properties();
        Dictionary<string, VariantValue> changed;
        lock (_propertiesLock)
        {
            var last = _lastProperties;
            _lastProperties = now;
            changed = last is null ? now : now.Where(p => !last.TryGetValue(p.Key, out var old) || !old.Equals(p.Value)).ToDictionary();
        }
        if (changed.Count == 0)
        {
            return;
        }
        Bus.Emit(Path, Names.PropertiesInterface, "PropertiesChanged", "sa{sv}as", (ref MessageWriter w) =>
        {
            w.WriteString(@interface);
            w.WriteDictionary(changed);
            w.WriteArray(Array.Empty<string>());
        });
    }

    /// <summary>Remembers the current properties as the baseline for the next PropertiesChanged.</summary>
    public void SnapshotProperties()
    {
        lock (_propertiesLock)
        {
            _lastProperties = Properties();
        }
    }

    protected static void ReplyObjectPath(MethodContext context, string path)
    {
        var writer = context.CreateReplyWriter("o");
        writer.WriteObjectPath(path);
        context.Reply(writer.CreateMessage());
    }

    protected static void ReplyEmpty(MethodContext context) => context.Reply(context.CreateReplyWriter(null).CreateMessage());
}
