using ContainerD.Cli;
using ContainerD.Contract;

namespace ContainerD.Tests.Cli;

/// <summary>`containerctl status` words GetUsage's figures as systemctl status does.</summary>
public sealed class UsageWordingTests
{
    internal static UsageFigures Figures(params (string Key, ulong Value)[] values) =>
        new(values.ToDictionary(v => v.Key, v => v.Value), []);

    [Fact]
    public void Every_figure_gets_its_line_with_peak_and_limit_in_parentheses()
    {
        var usage = Figures((UsageKeys.TasksCurrent, 5), (UsageKeys.TasksMax, 200), (UsageKeys.MemoryCurrent, 13_010_000),
            (UsageKeys.MemoryPeak, 21_080_000), (UsageKeys.MemoryMax, 512UL << 20), (UsageKeys.MemorySwapCurrent, 0),
            (UsageKeys.CpuUsageNSec, 1_234_567_890), (UsageKeys.IOReadBytes, 1_260_000), (UsageKeys.IOWriteBytes, 0),
            (UsageKeys.RootDiskBytes, 10_600_000)) with
        {
            Interfaces = [new InterfaceFigures("eth0", RxBytes: 1240, RxPackets: 12, TxBytes: 3500, TxPackets: 1)],
        };
        Assert.Equal("""
                   Tasks: 5 (limit: 200)
                  Memory: 12.4M (peak: 20.1M, limit: 512M)
                     CPU: 1.234s
                      IO: 1.2M read, 0B written
                 Network: eth0: 1.2K in (12 packets), 3.4K out (1 packet)
                    Disk: 10.1M (writable root)

            """, Output.Usage(usage));
    }

    [Fact]
    public void Swap_shows_once_some_is_used_and_what_the_host_cannot_give_is_no_line()
    {
        Assert.Equal("      Memory: 1M (swap: 2M)\n", Output.Usage(Figures((UsageKeys.MemoryCurrent, 1 << 20), (UsageKeys.MemorySwapCurrent, 2 << 20))));
        Assert.Equal("      Memory: 1M\n", Output.Usage(Figures((UsageKeys.MemoryCurrent, 1 << 20))));
        Assert.Equal("", Output.Usage(UsageFigures.None));
    }

    [Fact]
    public void A_second_interface_continues_under_the_first()
    {
        var usage = UsageFigures.None with
        {
            Interfaces = [new InterfaceFigures("eth0", 0, 0, 0, 0), new InterfaceFigures("eth1", 2048, 2, 0, 0)],
        };
        Assert.Equal("     Network: eth0: 0B in (0 packets), 0B out (0 packets)\n              eth1: 2K in (2 packets), 0B out (0 packets)\n",
            Output.Usage(usage));
    }

    [Theory]
    [InlineData(0UL, "0B")]
    [InlineData(800UL, "800B")]
    [InlineData(1024UL, "1K")]
    [InlineData(13_010_000UL, "12.4M")]
    [InlineData(13_002_342UL, "12.3M")] // cut, not rounded, as systemd does
    [InlineData(536_870_912UL, "512M")]
    public void Bytes_are_1024_based_with_one_decimal(ulong bytes, string expected) => Assert.Equal(expected, Output.Bytes(bytes));

    [Theory]
    [InlineData(0UL, "0")]
    [InlineData(5_000_000UL, "5ms")]
    [InlineData(1_234_567_890UL, "1.234s")]
    [InlineData(123_456_000_000UL, "2min 3.456s")]
    [InlineData(3_723_000_000_000UL, "1h 2min 3s")]
    public void Cpu_time_is_worded_as_systemd_does(ulong ns, string expected) => Assert.Equal(expected, Output.CpuTime(ns));
}
