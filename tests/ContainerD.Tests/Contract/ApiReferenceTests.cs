using System.Text.RegularExpressions;
using ContainerD.Contract;

namespace ContainerD.Tests.Contract;

/// <summary>docs/API.md says what the interface XML and the error table say: every member, property and error, and nothing else.</summary>
public sealed partial class ApiReferenceTests
{
    private static readonly string Root = FindRoot();
    private static readonly string Api = File.ReadAllText(Path.Combine(Root, "docs", "API.md"));

    public static TheoryData<string> Interfaces => new() { Names.ManagerInterface, Names.ContainerInterface, Names.JobInterface };

    private static InterfaceSpec Spec(string name) => new[] { Introspection.ManagerSpec, Introspection.ContainerSpec, Introspection.JobSpec }.Single(s => s.Name == name);

    /// <summary>The part of API.md under "## INTERFACE", up to the next "## ".</summary>
    private static string Section(string heading)
    {
        int start = Api.IndexOf("\n## " + heading + "\n", StringComparison.Ordinal);
        Assert.True(start >= 0, $"docs/API.md has no section '## {heading}'");
        int end = Api.IndexOf("\n## ", start + 4, StringComparison.Ordinal);
        return end < 0 ? Api[start..] : Api[start..end];
    }

    private static string Line(MemberSpec member, bool signal)
    {
        string ins = string.Join(", ", member.Args.Where(a => signal || a.Direction == "in").Select(a => $"{a.Type} {a.Name}".Trim()));
        string outs = signal ? "" : string.Join(", ", member.Args.Where(a => a.Direction == "out").Select(a => $"{a.Type} {a.Name}".Trim()));
        return $"- `{member.Name}({ins}){(outs.Length > 0 ? " → " + outs : "")}`";
    }

    [Theory]
    [MemberData(nameof(Interfaces))]
    public void Every_method_signal_and_property_is_documented_as_served_and_nothing_else(string name)
    {
        var spec = Spec(name);
        string section = Section(name);
        var expected = spec.Methods.Values.Select(m => Line(m, false)).Concat(spec.Signals.Values.Select(s => Line(s, true))).ToHashSet();
        var documented = MemberLine().Matches(section).Select(m => m.Groups[1].Value).ToHashSet();
        Assert.Equal(expected.Order(), documented.Order());

        var rows = PropertyRow().Matches(section).Select(m => (m.Groups[1].Value, m.Groups[2].Value, m.Groups[3].Value, m.Groups[4].Value)).ToList();
        var wanted = spec.Properties.Values.Select(p => (p.Name, p.Type, p.EmitsChangedSignal, p.AdminOnly ? "admins" : "anyone")).ToList();
        Assert.Equal(wanted.Order(), rows.Order());
    }

    [Fact]
    public void The_error_table_is_documented_row_by_row()
    {
        var rows = ErrorRowLine().Matches(Section("Errors and exit codes"))
            .Select(m => (m.Groups[1].Value, m.Groups[2].Value, int.Parse(m.Groups[3].Value, System.Globalization.CultureInfo.InvariantCulture)))
            .ToList();
        Assert.Equal(Errors.Table.Select(r => (r.Kind, r.DBusName, r.ExitCode)), rows);
    }

    [Fact]
    public void Properties_Introspectable_and_Peer_are_named_as_served()
    {
        Assert.Contains("`org.freedesktop.DBus.Properties`", Api);
        Assert.Contains("`org.freedesktop.DBus.Peer`", Api);
        Assert.Contains("`org.freedesktop.DBus.Introspectable`", Api);
    }

    [Fact]
    public void Every_string_the_daemon_writes_goes_through_BusText()
    {
        // The daemon's bus code writes text only through BusWriting (WriteText, ReplyErrorText).
        var offenders = Directory.EnumerateFiles(Path.Combine(Root, "src", "ContainerD.Daemon"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.EndsWith("BusContext.cs", StringComparison.Ordinal))
            .SelectMany(f => File.ReadLines(f).Select((line, i) => (f, i, line)))
            .Where(x => x.line.Contains(".WriteString(", StringComparison.Ordinal) || x.line.Contains(".ReplyError(", StringComparison.Ordinal))
            .Select(x => $"{Path.GetFileName(x.f)}:{x.i + 1}: {x.line.Trim()}")
            .ToList();
        Assert.Empty(offenders);
        string writing = File.ReadAllText(Path.Combine(Root, "src", "ContainerD.Daemon", "Bus", "BusContext.cs"));
        Assert.Equal(1, Regex.Count(writing, @"\.WriteString\("));
        Assert.Contains("writer.WriteString(BusText.Safe(text, maxBytes))", writing);
    }

    [GeneratedRegex(@"^(- `[A-Za-z]+\([^`]*\)(?: → [^`]*)?`)", RegexOptions.Multiline)]
    private static partial Regex MemberLine();

    [GeneratedRegex(@"^\| `(\w+)` \| `([^`]+)` \| (\w+) \| (\w+) \|", RegexOptions.Multiline)]
    private static partial Regex PropertyRow();

    [GeneratedRegex(@"^\| (\w+) \| `([\w.]+)` \| (\d) \|", RegexOptions.Multiline)]
    private static partial Regex ErrorRowLine();

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "ContainerD.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("no ContainerD.sln above " + AppContext.BaseDirectory);
    }
}
