using ContainerD.Domain;
using ContainerD.Domain.Configuration;
using ContainerD.Domain.IdMapping;
using ContainerD.Domain.Lxc;

namespace ContainerD.Daemon.Containers;

/// <summary>
/// The containers the daemon knows, under one lock: those loaded or created, those recovery could
/// not load (their names and ranges stay reserved), the uid allocator, and the Added, Changed and
/// Removed events the bus layer turns into signals. Operations ask it; nothing else holds containers.
/// </summary>
public sealed class ContainerRegistry(DaemonConfig config)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Container> _containers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _broken = new(StringComparer.Ordinal);
    private IdAllocator _allocator = new(config.IdPool, []);

    public event Action<Container>? Added;
    public event Action<Container>? Changed;
    public event Action<Container>? Removed;

    public IReadOnlyList<Container> List()
    {
        lock (_lock)
        {
            return _containers.Values.OrderBy(c => c.Name, StringComparer.Ordinal).ToList();
        }
    }

    /// <summary>The container of that name: InvalidName for a name that cannot be one (checked first, so a huge name is never echoed), else NoSuchContainer.</summary>
    public Container Get(string name)
    {
        ContainerName.Require(name);
        lock (_lock)
        {
            return _containers.TryGetValue(name, out var container)
                ? container
                : throw new ContainerDException(ErrorKind.NoSuchContainer, $"there is no container '{name}'; 'containerctl list' shows the containers there are");
        }
    }

    /// <summary>The container of that name if it runs; NotRunning says how to start it.</summary>
    public Container GetRunning(string name)
    {
        var container = Get(name);
        return container.RunState == ContainerState.Running ? container
            : throw new ContainerDException(ErrorKind.NotRunning, $"container '{name}' is {container.RunState.ToWire()}; start it with 'containerctl start {name}'");
    }

    /// <summary>The container of that name, or null.</summary>
    public Container? Find(string name)
    {
        lock (_lock)
        {
            return _containers.GetValueOrDefault(name);
        }
    }

    /// <summary>Runs a check and what it allows under the registry's lock, so nothing is added or removed in between (the lock is reentrant).</summary>
    public T Atomically<T>(Func<T> action)
    {
        lock (_lock)
        {
            return action();
        }
    }

    /// <summary>AlreadyExists for a name that is taken, by a container or by one recovery could not load.</summary>
    public void RequireUnused(string name)
    {
        lock (_lock)
        {
            if (_containers.ContainsKey(name))
            {
                throw new ContainerDException(ErrorKind.AlreadyExists, $"container '{name}' already exists; destroy it first or pick another name");
            }
            if (_broken.TryGetValue(name, out string? reason))
            {
                throw new ContainerDException(ErrorKind.AlreadyExists,
                    $"container '{name}' exists but could not be loaded at the daemon's start ({reason}); fix it and restart containerctld, or pick another name");
            }
        }
    }

    /// <summary>At start, before any container is loaded: the pool less what other owners hold in /etc/subuid.</summary>
    public void ResetAllocator(IEnumerable<(string Owner, IdRange Range)> foreign)
    {
        lock (_lock)
        {
            _allocator = new IdAllocator(config.IdPool, foreign);
        }
    }

    public IdRange Allocate(string name, long size, long? fixedBase)
    {
        lock (_lock)
        {
            return _allocator.Allocate(name, size, fixedBase);
        }
    }

    public void Free(string name)
    {
        lock (_lock)
        {
            _allocator.Free(name);
        }
    }

    /// <summary>A container recovery loaded: known, its range reserved, no event (the bus publishes what is there when it starts).</summary>
    public void Load(Container container)
    {
        lock (_lock)
        {
            _allocator.Reserve(container.Name, container.Ids);
            _containers[container.Name] = container;
        }
    }

    /// <summary>Keeps a name recovery could not load reserved; false when it had loaded it after all (only its refresh failed).</summary>
    public bool MarkBroken(string name, string reason)
    {
        lock (_lock)
        {
            if (_containers.ContainsKey(name))
            {
                return false;
            }
            _broken[name] = reason;
            return true;
        }
    }

    public void Reserve(string name, IdRange ids)
    {
        lock (_lock)
        {
            _allocator.Reserve(name, ids);
        }
    }

    /// <summary>A created container: known from now on, and announced.</summary>
    public void Add(Container container)
    {
        lock (_lock)
        {
            _containers[container.Name] = container;
        }
        Added?.Invoke(container);
    }

    /// <summary>A destroyed container: forgotten, and announced. Its range is freed by Free, after its files are gone.</summary>
    public void Remove(Container container)
    {
        lock (_lock)
        {
            _containers.Remove(container.Name);
        }
        Removed?.Invoke(container);
    }

    /// <summary>Something of the container changed (state, definition, last job): announced.</summary>
    public void NotifyChanged(Container container) => Changed?.Invoke(container);
}
