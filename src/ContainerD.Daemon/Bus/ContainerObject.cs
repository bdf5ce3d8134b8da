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
        ["Addresses"] = VariantValue.Array(Array.Empty<string>()),
        ["CreatedAt"] = (ulong)(container.State.CreatedAt.ToUnixTimeMilliseconds() * 1000),
        ["Definition"] = container.DefinitionYaml,
    };

    protected override async Task<bool> HandleCallAsync(MethodContext context, string member, string signature)
    {
        if ((member, signature) != ("RunCommand", "asa{ss}"))
        {
            return false;
        }
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
