using System.Text.RegularExpressions;
using ContainerD.Domain.Operations;

namespace ContainerD.Tests.Operations;

/// <summary>The crash-step table names each step once, and the daemon fires exactly the table's rows.</summary>
public sealed partial class CrashStepsTests
{
    [Fact]
    public void Each_step_has_a_unique_id_and_says_what_is_persisted_and_what_recovery_does()
    {
        Assert.Equal(CrashSteps.All.Count, CrashSteps.All.Select(s => s.Id).Distinct().Count());
        Assert.All(CrashSteps.All, s =>
        {
            Assert.Matches("^[a-z]+:[a-z-]+$", s.Id);
            Assert.NotEmpty(s.PersistedBefore);
            Assert.NotEmpty(s.Recovery);
            Assert.Same(s, CrashSteps.Find(s.Id));
        });
        Assert.Null(CrashSteps.Find("create:4"));
    }

    [Fact]
    public void The_daemon_fires_every_row_once_and_nothing_else()
    {
        string dir = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(dir, "ContainerD.sln")))
        {
            dir = Path.GetDirectoryName(dir) ?? throw new InvalidOperationException("ContainerD.sln not found above the test's directory");
        }
        var fired = Directory.EnumerateFiles(Path.Combine(dir, "src", "ContainerD.Daemon"), "*.cs", SearchOption.AllDirectories)
            .SelectMany(f => Before().Matches(File.ReadAllText(f)).Select(m => m.Groups[1].Value))
            .Order()
            .ToArray();
        var declared = typeof(CrashSteps).GetFields().Where(f => f.FieldType == typeof(CrashStep)).Select(f => f.Name).Order().ToArray();
        Assert.Equal(declared, fired);
        Assert.Equal(declared.Length, CrashSteps.All.Count);
    }

    [GeneratedRegex(@"FaultInjection\.Before\(CrashSteps\.(\w+)\)")]
    private static partial Regex Before();
}
