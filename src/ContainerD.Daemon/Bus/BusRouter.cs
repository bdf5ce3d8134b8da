using System.Collections.Concurrent;
using ContainerD.Contract;
using Tmds.DBus.Protocol;

namespace ContainerD.Daemon.Bus;

/// <summary>
/// The one handler on the connection, for every path: it hands a call to the object at its path,
/// answers Introspect on the paths above them (with their children), and UnknownObject for a path
/// where there is no object (a container or job that is gone). Peer is answered by the connection.
/// </summary>
public sealed class BusRouter : IPathMethodHandler
{
    private readonly ConcurrentDictionary<string, BusObject> _objects = new(StringComparer.Ordinal);

    public string Path => "/";
    public bool HandlesChildPaths => true;

    public void Add(BusObject obj) => _objects[obj.Path] = obj;

    public void Remove(string path) => _objects.TryRemove(path, out _);

    public ValueTask HandleMethodAsync(MethodContext context)
    {
        string path = context.Request.PathAsString ?? "/";
        // Only Introspect lists children (a walk over every object): other calls skip it.
        string[] children = context.IsDBusIntrospectRequest ? ChildNames(path) : [];
        if (_objects.TryGetValue(path, out var obj))
        {
            obj.Handle(context, children);
        }
        else if (context.IsDBusIntrospectRequest && (children.Length > 0 || Names.ManagerPath.StartsWith(path == "/" ? "/" : path + "/", StringComparison.Ordinal)))
        {
            context.ReplyIntrospectXml([], children);
        }
        else
        {
            context.ReplyErrorText(Errors.UnknownObject, $"there is no object at {BusText.Echo(path)}");
        }
        return default;
    }

    /// <summary>The names of the nodes directly below path that lead to an object.</summary>
    private string[] ChildNames(string path)
    {
        string prefix = path == "/" ? "/" : path + "/";
        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (string objectPath in _objects.Keys.Append(Names.ManagerPath))
        {
            if (objectPath.Length > prefix.Length && objectPath.StartsWith(prefix, StringComparison.Ordinal))
            {
                string rest = objectPath[prefix.Length..];
                int slash = rest.IndexOf('/');
                names.Add(slash < 0 ? rest : rest[..slash]);
            }
        }
        return [.. names];
    }
}
