using ContainerD.Daemon.Containers;
using ContainerD.Domain;
using ContainerD.Domain.Configuration;
using ContainerD.Domain.Definitions;
using ContainerD.Domain.IdMapping;

namespace ContainerD.DaemonTests;

/// <summary>The registry: who exists, names kept for containers recovery could not load, ranges, and one event per change.</summary>
public sealed class ContainerRegistryTests
{
    private static readonly IdRange Pool = new(1_073_741_824, 2 * 65_536);

    private static Container Web(IdRange ids)
    {
        var definition = DefinitionParser.Parse("system: { nix: { file: /etc/web.nix } }\n", "web.yaml", "web");
        var state = new PersistedState { Name = "web", UidBase = ids.Start, UidSize = ids.Count, CreatedAt = DateTimeOffset.UnixEpoch, Phase = Phase.Ready };
        return new Container(state, definition, "");
    }

    [Fact]
    public void Added_and_removed_are_announced_once_and_a_taken_name_is_AlreadyExists()
    {
        var registry = new ContainerRegistry(new DaemonConfig { IdPool = Pool });
        var events = new List<string>();
        registry.Added += c => events.Add($"added {c.Name}");
        registry.Removed += c => events.Add($"removed {c.Name}");
        registry.Changed += c => events.Add($"changed {c.Name}");

        var web = Web(registry.Allocate("web", 65_536, null));
        registry.Add(web);
        Assert.Same(web, registry.Get("web"));
        Assert.Equal(ErrorKind.AlreadyExists, Assert.Throws<ContainerDException>(() => registry.RequireUnused("web")).Kind);
        registry.NotifyChanged(web);
        registry.Remove(web);
        Assert.Null(registry.Find("web"));
        Assert.Equal(ErrorKind.NoSuchContainer, Assert.Throws<ContainerDException>(() => registry.Get("web")).Kind);
        Assert.Equal(ErrorKind.InvalidName, Assert.Throws<ContainerDException>(() => registry.Get("Not A Name")).Kind);
        Assert.Equal(["added web", "changed web", "removed web"], events);
    }

    [Fact]
    public void A_container_recovery_could_not_load_keeps_its_name_and_range()
    {
        var registry = new ContainerRegistry(new DaemonConfig { IdPool = Pool });
        Assert.True(registry.MarkBroken("db", "state.json: unexpected end"));
        registry.Reserve("db", new IdRange(Pool.Start, 65_536));

        var taken = Assert.Throws<ContainerDException>(() => registry.RequireUnused("db"));
        Assert.Equal(ErrorKind.AlreadyExists, taken.Kind);
        Assert.Contains("could not be loaded at the daemon's start (state.json: unexpected end)", taken.Message);
        // The next range is the pool's second: the broken container's files still own the first.
        Assert.Equal(Pool.Start + 65_536, registry.Allocate("web", 65_536, null).Start);
        Assert.Equal(ErrorKind.NoFreeRange, Assert.Throws<ContainerDException>(() => registry.Allocate("api", 65_536, null)).Kind);
    }

    [Fact]
    public void A_loaded_container_is_not_marked_broken_when_only_its_refresh_failed()
    {
        var registry = new ContainerRegistry(new DaemonConfig { IdPool = Pool });
        registry.Load(Web(new IdRange(Pool.Start, 65_536)));
        Assert.False(registry.MarkBroken("web", "lxc-info failed"));
        Assert.NotNull(registry.Find("web"));
        Assert.Equal(Pool.Start + 65_536, registry.Allocate("db", 65_536, null).Start);
    }
}
