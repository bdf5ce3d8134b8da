using ContainerD.Cli;

namespace ContainerD.Tests.Cli;

/// <summary>`metrics --output` as root, into a dir another user may write (node_exporter's textfile dir).</summary>
public sealed class MetricsFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("containerd-metrics-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void A_link_planted_at_the_temporary_name_is_not_followed_and_the_file_is_readable_by_the_exporter()
    {
        string victim = Path.Combine(_dir, "victim");
        File.WriteAllText(victim, "precious");
        string prom = Path.Combine(_dir, "containerctld.prom");
        File.CreateSymbolicLink(Path.Combine(_dir, $".containerctld.prom.{Environment.ProcessId}.tmp"), victim);

        Metrics.WriteAtomically(prom, "containerctld_up 1\n");

        Assert.Equal("precious", File.ReadAllText(victim));
        Assert.Equal("containerctld_up 1\n", File.ReadAllText(prom));
        Assert.Null(new FileInfo(prom).LinkTarget);
        Assert.Equal((UnixFileMode)0b110_100_100, File.GetUnixFileMode(prom));
        Assert.Equal(["containerctld.prom", "victim"], Directory.GetFileSystemEntries(_dir).Select(Path.GetFileName).Order());
    }
}
