using ContainerD.Contract;
using ContainerD.Domain;

namespace ContainerD.Tests.Contract;

/// <summary>The states the contract names for clients are the daemon's, spelt as it sends them.</summary>
public sealed class ContainerStatesTests
{
    [Fact]
    public void The_contracts_states_are_the_daemons() =>
        Assert.Equal(Enum.GetValues<ContainerState>().Select(s => s.ToWire()).Order(), ContainerStates.All.Order());
}
