using System.Text;
using ContainerD.Contract;
using ContainerD.Domain;
using Microsoft.Extensions.Logging;
using Tmds.DBus.Protocol;

namespace ContainerD.Daemon.Bus;

/// <summary>Writes a message body; a delegate because MessageWriter is a ref struct.</summary>
public delegate void BodyWriter(ref MessageWriter writer);

/// <summary>
/// What every object the daemon serves has in common: introspection, properties, method dispatch
/// off the connection's read loop by the interface's XML (an unknown member is UnknownMethod, a
/// wrong signature InvalidArgs, another interface UnknownInterface), ContainerDException → its
/// named D-Bus error, and every string that leaves through BusText.
/// </summary>
public abstract class BusObject(string path, InterfaceSpec spec, ReadOnlyMemory<byte> introspectionXml, BusContext bus)
{
    private static readonly byte[] IntrospectableInterface = "org.freedesktop.DBus.Introspectable"u8.ToArray();
    private readonly byte[] _interfaceBytes = Encoding.UTF8.GetBytes(spec.Name);
    private readonly Lock _propertiesLock = new();
    private Dictionary<string, VariantValue>? _lastProperties;

    public string Path { get; } = path;
    protected BusContext Bus { get; } = bus;
    protected InterfaceSpec Spec { get; } = spec;

    /// <summary>The object's properties now; empty for objects without any.</summary>
    protected virtual Dictionary<string, VariantValue> Properties() => [];

    /// <summary>Handles a call of one of the interface's methods, its signature already checked.</summary>
    protected abstract Task HandleCallAsync(MethodContext context, string member);

    /// <summary>Called by the router for every message to this path.</summary>
    public void Handle(MethodContext context, string[] childNames)
    {
        if (context.IsDBusIntrospectRequest)
        {
            context.ReplyIntrospectXml([introspectionXml, IntrospectionXml.DBusProperties], childNames);
            return;
        }
        // Replies may need a bus round trip (the caller's uid) or a long wait: answer off the read loop.
        context.DisposesAsynchronously = true;
        _ = DispatchAsync(context);
    }

    private async Task DispatchAsync(MethodContext context)
    {
        using (context)
        {
            try
            {
                await Bus.Ready.ConfigureAwait(false);
                // Member and interface are names of at most 255 bytes (the bus checks): safe to read and echo.
                string member = context.Request.MemberAsString ?? "";
                string signature = context.Request.SignatureAsString ?? "";
                var iface = context.Request.Interface;
                if (context.IsPropertiesInterfaceRequest)
                {
                    await HandlePropertiesAsync(context, member, signature).ConfigureAwait(false);
                }
                else if (iface.IsEmpty || iface.SequenceEqual(_interfaceBytes))
                {
                    if (!Spec.Methods.TryGetValue(member, out var method))
                    {
                        context.ReplyErrorText(Errors.UnknownMethod, $"{Spec.Name} has no method '{member}'");
                    }
                    else if (method.InSignature != signature)
                    {
                        context.ReplyErrorText(Errors.InvalidArgs, $"{member} takes arguments of signature '{method.InSignature}', not '{signature}'");
                    }
                    else
                    {
                        await HandleCallAsync(context, member).ConfigureAwait(false);
                    }
                }
                else if (iface.SequenceEqual(IntrospectableInterface))
                {
                    context.ReplyErrorText(Errors.UnknownMethod, $"org.freedesktop.DBus.Introspectable has no method '{member}'");
                }
                else
                {
                    context.ReplyErrorText(Errors.UnknownInterface, $"{Path} has no interface '{context.Request.InterfaceAsString}'");
                }
            }
            catch (ContainerDException e)
            {
                context.ReplyErrorText(Errors.NameOf(e.Kind.ToString()), e.Message);
            }
            catch (DBusReadException e)
            {
                context.ReplyErrorText(Errors.InvalidArgs, $"the arguments cannot be read: {e.Message}");
            }
            catch (OperationCanceledException)
            {
                // The caller left: there is nobody to answer.
                Bus.Log.LogInformation("{Member} on {Path} stopped: the caller left the bus", context.Request.MemberAsString, Path);
                context.ReplyErrorText(Errors.NameOf(nameof(ErrorKind.Canceled)), "the caller left the bus");
            }
            catch (Exception e)
            {
                Bus.Log.LogError(e, "{Member} on {Path} failed", context.Request.MemberAsString, Path);
                context.ReplyErrorText(Errors.NameOf(nameof(ErrorKind.Failed)), e.Message);
            }
        }
    }

    private async Task HandlePropertiesAsync(MethodContext context, string member, string signature)
    {
        string expected = member switch { "Get" => "ss", "GetAll" => "s", "Set" => "ssv", _ => "" };
        if (expected.Length == 0)
        {
            context.ReplyErrorText(Errors.UnknownMethod, $"{Names.PropertiesInterface} has no method '{member}'");
            return;
        }
        if (signature != expected)
        {
            context.ReplyErrorText(Errors.InvalidArgs, $"{member} takes arguments of signature '{expected}', not '{signature}'");
            return;
        }
        var reader = context.Request.GetBodyReader();
        // Read as bytes: a 30 MB interface name is compared, never decoded or repeated.
        var iface = reader.ReadStringAsSpan();
        if (!iface.IsEmpty && !iface.SequenceEqual(_interfaceBytes))
        {
            context.ReplyErrorText(Errors.UnknownInterface, $"{Path} has no interface '{BusText.EchoBytes(iface)}'");
            return;
        }
        if (member == "GetAll")
        {
            bool admin = !Spec.Properties.Values.Any(p => p.AdminOnly) || await Bus.IsAdminAsync(context).ConfigureAwait(false);
            var all = SafeProperties().Where(p => admin || !Spec.Properties[p.Key].AdminOnly).ToDictionary();
            var writer = context.CreateReplyWriter("a{sv}");
            writer.WriteDictionary(all);
            context.Reply(writer.CreateMessage());
            return;
        }
        var nameBytes = reader.ReadStringAsSpan();
        PropertySpec? property = nameBytes.Length <= 255 && Spec.Properties.TryGetValue(Encoding.UTF8.GetString(nameBytes), out var p) ? p : null;
        if (property is null)
        {
            context.ReplyErrorText(Errors.UnknownProperty, $"{Spec.Name} has no property '{BusText.EchoBytes(nameBytes)}'");
            return;
        }
        if (member == "Set")
        {
            context.ReplyErrorText(Errors.PropertyReadOnly, "all properties are read-only");
            return;
        }
        if (property.AdminOnly)
        {
            await Bus.RequireAdminAsync(context, $"read {property.Name}").ConfigureAwait(false);
        }
        var value = SafeProperties()[property.Name];
        var reply = context.CreateReplyWriter("v");
        reply.WriteVariant(value);
        context.Reply(reply.CreateMessage());
    }

    /// <summary>The properties with every string bus-safe and bounded.</summary>
    private Dictionary<string, VariantValue> SafeProperties() =>
        Properties().ToDictionary(p => p.Key,
            p => BusWriting.SafeValue(p.Value, p.Key == "Definition" ? BusText.MaxDefinitionBytes : BusText.MaxMessageBytes));

    /// <summary>
    /// Emits PropertiesChanged with the properties that differ from the last emission. Admin-only
    /// ones are named as invalidated, never sent: a signal reaches every listener.
    /// </summary>
    public void EmitPropertiesChanged()
    {
        var now = SafeProperties();
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
        var values = changed.Where(p => Spec.Properties[p.Key].EmitsChangedSignal == "true").ToDictionary();
        var invalidated = changed.Keys.Where(k => Spec.Properties[k].EmitsChangedSignal == "invalidates").ToArray();
        if (values.Count == 0 && invalidated.Length == 0)
        {
            return;
        }
        Bus.Emit(Path, Names.PropertiesInterface, "PropertiesChanged", "sa{sv}as", (ref MessageWriter w) =>
        {
            w.WriteText(Spec.Name);
            w.WriteDictionary(values);
            w.WriteArray(invalidated);
        });
    }

    /// <summary>Remembers the current properties as the baseline for the next PropertiesChanged.</summary>
    public void SnapshotProperties()
    {
        lock (_propertiesLock)
        {
            _lastProperties = SafeProperties();
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
