namespace ContainerD.Contract;

/// <summary>
/// The keys of Container.GetUsage()'s a{sv}, named once: the daemon writes them, the CLI and the
/// metrics read them, and a test holds docs/API.md to every one. Named as systemd names a unit's
/// figures where it has one. Each value is a t, except Interfaces.
/// </summary>
public static class UsageKeys
{
    public const string CpuUsageNSec = "CPUUsageNSec";
    public const string MemoryCurrent = "MemoryCurrent";
    public const string MemoryPeak = "MemoryPeak";
    public const string MemoryMax = "MemoryMax";
    public const string MemorySwapCurrent = "MemorySwapCurrent";
    public const string MemorySwapMax = "MemorySwapMax";
    public const string TasksCurrent = "TasksCurrent";
    public const string TasksMax = "TasksMax";
    public const string IOReadBytes = "IOReadBytes";
    public const string IOWriteBytes = "IOWriteBytes";
    public const string RootDiskBytes = "RootDiskBytes";
    public const string RootDiskMeasuredAt = "RootDiskMeasuredAt";

    /// <summary>a{sa{st}}: each interface by its name inside the container, to its counters (InterfaceKeys).</summary>
    public const string Interfaces = "Interfaces";
    public const string InterfacesSignature = "a{sa{st}}";

    /// <summary>Every key whose value is a t, in the order they are documented.</summary>
    public static IReadOnlyList<string> Figures { get; } =
    [
        CpuUsageNSec, MemoryCurrent, MemoryPeak, MemoryMax, MemorySwapCurrent, MemorySwapMax, TasksCurrent, TasksMax,
        IOReadBytes, IOWriteBytes, RootDiskBytes, RootDiskMeasuredAt,
    ];
}

/// <summary>An interface's counters in GetUsage's Interfaces, as the container sees them (Rx: what came in to it).</summary>
public static class InterfaceKeys
{
    public const string RxBytes = "RxBytes";
    public const string RxPackets = "RxPackets";
    public const string TxBytes = "TxBytes";
    public const string TxPackets = "TxPackets";

    public static IReadOnlyList<string> All { get; } = [RxBytes, RxPackets, TxBytes, TxPackets];
}
