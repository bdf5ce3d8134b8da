using System.Runtime.InteropServices;
using ContainerD.Contract;
using ContainerD.Daemon.Containers;
using ContainerD.Domain;
using ContainerD.Domain.Lxc;
using Tmds.DBus.Protocol;

namespace ContainerD.Daemon.Bus;

/// <summary>io.containerctl.ContainerD1.Container: one object per container, read-only properties.</summary>
public sealed class ContainerObject(BusContext bus, Container container, SessionService sessions, UsageService usage)
    : BusObject(Names.ContainerPath(container.Name), Introspection.ContainerSpec, Introspection.Container, bus)
{
    protected override Dictionary<string, VariantValue> Properties() => new()
    {
        ["Name"] = container.Name,
        ["State"] = container.RunState.ToWire(),
        ["LeaderPid"] = (uint)container.LeaderPid,
        ["UidBase"] = (uint)container.State.UidBase,
        ["UidSize"] = (uint)container.State.UidSize,
        ["Generation"] = (uint)container.State.Generation,
        ["SystemPath"] = container.State.SystemPath ?? "",
        ["Autostart"] = container.Definition.Autostart,
        ["Addresses"] = VariantValue.Array(Addresses()),
        ["CreatedAt"] = (ulong)(container.State.CreatedAt.ToUnixTimeMilliseconds() * 1000),
        ["Definition"] = container.DefinitionYaml,
        ["Declarative"] = container.State.Declarative,
        ["LastJob"] = container.LastJob,
        ["LastJobMessage"] = container.LastJobMessage,
    };

    /// <summary>The container's own addresses on its veth while it runs (they are set by LXC from the definition).</summary>
    private string[] Addresses()
    {
        var network = container.Definition.Network;
        return container.RunState == ContainerState.Running
            ? new[] { network.LocalAddress, network.LocalAddress6 }.OfType<string>().ToArray()
            : [];
    }

    /// <summary>The contract's members this object handles (a test holds them to the XML and to Wire).</summary>
    public static IEnumerable<string> HandledMembers { get; } = [Wire.Container.RunCommand, Wire.Container.OpenShell, Wire.Container.OpenConsoleLog, Wire.Container.GetUsage];

    protected override async Task HandleCallAsync(MethodContext context, string member)
    {
        switch (member)
        {
            case Wire.Container.RunCommand:
            {
                var (argv, env) = ReadCommand(context.Request);
                // A command inside runs as the container's root: as much a change as any other.
                await Bus.RequireAdminAsync(context).ConfigureAwait(false);
                // The command stops when its caller leaves the bus (busctl --timeout, a killed CLI).
                using var caller = Bus.WatchCaller(context);
                var result = await sessions.RunCommandAsync(container.Name, argv, env, caller.Left).ConfigureAwait(false);
                // stdout and stderr are bytes, exact, within Limits.RunCommandOutputBytes together.
                var writer = context.CreateReplyWriter("iayay");
                writer.WriteInt32(result.ExitCode);
                writer.WriteArray(result.Stdout);
                writer.WriteArray(result.StderrBytes);
                context.Reply(writer.CreateMessage());
                return;
            }
            case Wire.Container.OpenShell:
                await Bus.RequireAdminAsync(context).ConfigureAwait(false);
                ReplyHandle(context, sessions.OpenShell(container.Name));
                return;
            case Wire.Container.OpenConsoleLog:
                // The console may show what a service printed (keys, passwords): admins only.
                await Bus.RequireAdminAsync(context).ConfigureAwait(false);
                ReplyHandle(context, sessions.OpenConsoleLog(container.Name));
                return;
            case Wire.Container.GetUsage:
                // Public, as systemd's figures are: how much, never what.
                ReplyUsage(context, await usage.GetUsageAsync(container.Name).ConfigureAwait(false));
                return;
            default:
                throw new InvalidOperationException($"{member} is in the interface XML but has no handler");
        }
    }

    /// <summary>Sends an fd to the caller; the message owns it from here and closes it once sent.</summary>
    private static void ReplyHandle(MethodContext context, SafeHandle handle)
    {
        var writer = context.CreateReplyWriter("h");
        writer.WriteHandle(handle);
        context.Reply(writer.CreateMessage());
    }

    /// <summary>
    /// The figures the host has, each a t (Interfaces: a{sa{st}}); an empty dictionary when the
    /// container is not running. A figure the host cannot give is left out, never sent as 0.
    /// </summary>
    private static void ReplyUsage(MethodContext context, ContainerUsage? usage)
    {
        var writer = context.CreateReplyWriter("a{sv}");
        ArrayStart dict = writer.WriteDictionaryStart();
        if (usage is not null)
        {
            (string Key, ulong? Value)[] figures =
            [
                (UsageKeys.CpuUsageNSec, usage.CpuUsageNSec), (UsageKeys.MemoryCurrent, usage.MemoryCurrent), (UsageKeys.MemoryPeak, usage.MemoryPeak),
                (UsageKeys.MemoryMax, usage.MemoryMax), (UsageKeys.MemorySwapCurrent, usage.MemorySwapCurrent), (UsageKeys.MemorySwapMax, usage.MemorySwapMax),
                (UsageKeys.TasksCurrent, usage.TasksCurrent), (UsageKeys.TasksMax, usage.TasksMax),
                (UsageKeys.IOReadBytes, usage.IOReadBytes), (UsageKeys.IOWriteBytes, usage.IOWriteBytes),
                (UsageKeys.RootDiskBytes, usage.RootDiskBytes), (UsageKeys.RootDiskMeasuredAt, Micros(usage.RootDiskMeasuredAt)),
            ];
            foreach (var (key, value) in figures)
            {
                if (value is { } v)
                {
                    writer.WriteDictionaryEntryStart();
                    writer.WriteText(key);
                    writer.WriteVariantUInt64(v);
                }
            }
            if (usage.Interfaces.Count > 0)
            {
                writer.WriteDictionaryEntryStart();
                writer.WriteText(UsageKeys.Interfaces);
                writer.WriteSignature(UsageKeys.InterfacesSignature);
                ArrayStart interfaces = writer.WriteDictionaryStart();
                foreach (var i in usage.Interfaces)
                {
                    writer.WriteDictionaryEntryStart();
                    writer.WriteText(i.Name);
                    ArrayStart counters = writer.WriteDictionaryStart();
                    foreach (var (key, value) in (ReadOnlySpan<(string, ulong)>)[(InterfaceKeys.RxBytes, i.RxBytes), (InterfaceKeys.RxPackets, i.RxPackets),
                        (InterfaceKeys.TxBytes, i.TxBytes), (InterfaceKeys.TxPackets, i.TxPackets)])
                    {
                        writer.WriteDictionaryEntryStart();
                        writer.WriteText(key);
                        writer.WriteUInt64(value);
                    }
                    writer.WriteDictionaryEnd(counters);
                }
                writer.WriteDictionaryEnd(interfaces);
            }
        }
        writer.WriteDictionaryEnd(dict);
        context.Reply(writer.CreateMessage());
    }

    private static ulong? Micros(DateTimeOffset? at) => at is { } t ? (ulong)(t.ToUnixTimeMilliseconds() * 1000) : null;

    /// <summary>argv and env, bounded in count and size before anything runs.</summary>
    private static (string[] Argv, Dictionary<string, string> Env) ReadCommand(Message request)
    {
        var reader = request.GetBodyReader();
        long bytes = 0;
        string Take(ref Reader r)
        {
            var span = r.ReadStringAsSpan();
            bytes += span.Length;
            if (bytes > Limits.RunCommandArgBytes)
            {
                throw new ContainerDException(ErrorKind.InvalidArgs, $"argv and env take more than {Limits.RunCommandArgBytes} bytes");
            }
            return System.Text.Encoding.UTF8.GetString(span);
        }
        var argv = new List<string>();
        ArrayEnd argvEnd = reader.ReadArrayStart(DBusType.String);
        while (reader.HasNext(argvEnd))
        {
            if (argv.Count == Limits.RunCommandArgs)
            {
                throw new ContainerDException(ErrorKind.InvalidArgs, $"argv has more than {Limits.RunCommandArgs} arguments");
            }
            argv.Add(Take(ref reader));
        }
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        ArrayEnd end = reader.ReadDictionaryStart();
        while (reader.HasNext(end))
        {
            if (env.Count == Limits.RunCommandArgs)
            {
                throw new ContainerDException(ErrorKind.InvalidArgs, $"env has more than {Limits.RunCommandArgs} entries");
            }
            reader.AlignStruct();
            string key = Take(ref reader);
            env[key] = Take(ref reader);
        }
        if (argv.Count == 0)
        {
            throw new ContainerDException(ErrorKind.InvalidArgs, "no command given: argv is empty");
        }
        return (argv.ToArray(), env);
    }
}
