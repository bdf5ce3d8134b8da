using System.Runtime.InteropServices;
using ContainerD.Contract;
using ContainerD.Daemon.Containers;
using ContainerD.Domain;
using Tmds.DBus.Protocol;

namespace ContainerD.Daemon.Bus;

/// <summary>io.containerctl.ContainerD1.Container: one object per container, read-only properties.</summary>
public sealed class ContainerObject(BusContext bus, Container container, ContainerService containers)
    : BusObject(Names.ContainerPath(container.Name), Names.ContainerInterface, Introspection.Container, bus)
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
        ["LastJob"] = LastJob,
    };

    /// <summary>The container's own addresses on its veth while it runs (they are set by LXC from the definition).</summary>
    private string[] Addresses()
    {
        var network = container.Definition.Network;
        return container.RunState == ContainerState.Running
            ? new[] { network.LocalAddress, network.LocalAddress6 }.OfType<string>().ToArray()
            : [];
    }

    /// <summary>How the container's last job since the daemon started ended: "update failed: …"; empty before any.</summary>
    public string LastJob { get; set; } = "";

    protected override async Task<bool> HandleCallAsync(MethodContext context, string member, string signature)
    {
        switch (member, signature)
        {
            case ("RunCommand", "asa{ss}"):
            {
                var (argv, env) = ReadCommand(context.Request);
                // A command inside runs as the container's root: as much a change as any other.
                await Bus.RequireAdminAsync(context).ConfigureAwait(false);
                var result = await containers.RunCommandAsync(container.Name, argv, env).ConfigureAwait(false);
                var writer = context.CreateReplyWriter("iayay");
                writer.WriteInt32(result.ExitCode);
                writer.WriteArray(result.Stdout);
                writer.WriteArray(result.StderrBytes);
                context.Reply(writer.CreateMessage());
                return true;
            }
            case ("OpenShell", ""):
                await Bus.RequireAdminAsync(context).ConfigureAwait(false);
                ReplyHandle(context, containers.OpenShell(container.Name));
                return true;
            case ("OpenConsoleLog", ""):
                // The console may show what a service printed (keys, passwords): admins only.
                await Bus.RequireAdminAsync(context).ConfigureAwait(false);
                ReplyHandle(context, containers.OpenConsoleLog(container.Name));
                return true;
            default:
                return false;
        }
    }

    /// <summary>Sends an fd to the caller; the message owns it from here and closes it once sent.</summary>
    private static void ReplyHandle(MethodContext context, SafeHandle handle)
    {
        var writer = context.CreateReplyWriter("h");
        writer.WriteHandle(handle);
        context.Reply(writer.CreateMessage());
    }

    private static (string[] Argv, Dictionary<string, string> Env) ReadCommand(Message request)
    {
        var reader = request.GetBodyReader();
        string[] argv = reader.ReadArrayOfString();
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        ArrayEnd end = reader.ReadDictionaryStart();
        while (reader.HasNext(end))
        {
            env[reader.ReadString()] = reader.ReadString();
        }
        return (argv, env);
    }
}
