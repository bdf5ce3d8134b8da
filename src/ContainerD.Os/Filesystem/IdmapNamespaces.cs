using System.Collections.Concurrent;
using ContainerD.Domain.IdMapping;
using Microsoft.Win32.SafeHandles;

namespace ContainerD.Os.Filesystem;

/// <summary>
/// The daemon's user namespaces for idmapped mounts, one per container range: made at a
/// container's first start (UserNamespace.Open, a helper process of ~2 ms) and kept, as an fd,
/// while the daemon runs — a range is the container's for life, so its mapping never changes.
/// Forget drops one when its container goes.
/// </summary>
public sealed class IdmapNamespaces : IDisposable
{
    // Lazy per range: concurrent first starts of different containers make their namespaces side by side.
    private readonly ConcurrentDictionary<IdRange, Lazy<SafeFileHandle>> _byRange = new();

    /// <summary>The namespace that maps ids to the range's host ids (0 → ids.Start); the caller must not dispose it.</summary>
    public SafeFileHandle For(IdRange ids)
    {
        var made = _byRange.GetOrAdd(ids, static range => new Lazy<SafeFileHandle>(() => UserNamespace.Open(range)));
        try
        {
            return made.Value;
        }
        catch
        {
            // Not kept: the next start tries again.
            _byRange.TryRemove(new KeyValuePair<IdRange, Lazy<SafeFileHandle>>(ids, made));
            throw;
        }
    }

    public void Forget(IdRange ids)
    {
        if (_byRange.TryRemove(ids, out var made) && made.IsValueCreated)
        {
            made.Value.Dispose();
        }
    }

    public void Dispose()
    {
        foreach (var range in _byRange.Keys)
        {
            Forget(range);
        }
    }
}
