using System.Text;
using System.Xml.Linq;

namespace ContainerD.Contract;

/// <summary>The interface XML the daemon serves; embedded files, pinned by a snapshot test.</summary>
public static class Introspection
{
    /// <summary>Marks a property only root and the admin group may read (it is left out of GetAll and PropertiesChanged for others).</summary>
    public const string AdminOnlyAnnotation = "io.containerctl.ContainerD1.AdminOnly";
    public const string EmitsChangedSignalAnnotation = "org.freedesktop.DBus.Property.EmitsChangedSignal";

    public static ReadOnlyMemory<byte> Manager { get; } = Load("io.containerctl.ContainerD1.Manager.xml");
    public static ReadOnlyMemory<byte> Container { get; } = Load("io.containerctl.ContainerD1.Container.xml");
    public static ReadOnlyMemory<byte> Job { get; } = Load("io.containerctl.ContainerD1.Job.xml");

    /// <summary>The served interface of each kind of object, read from its XML.</summary>
    public static InterfaceSpec ManagerSpec { get; } = InterfaceSpec.Parse(Manager);
    public static InterfaceSpec ContainerSpec { get; } = InterfaceSpec.Parse(Container);
    public static InterfaceSpec JobSpec { get; } = InterfaceSpec.Parse(Job);

    private static byte[] Load(string name)
    {
        using var stream = typeof(Introspection).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"embedded resource {name} is missing");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}

/// <summary>A property as the XML declares it.</summary>
public sealed record PropertySpec(string Name, string Type, string EmitsChangedSignal, bool AdminOnly);

/// <summary>A method or signal: its arguments' types, in and out.</summary>
public sealed record MemberSpec(string Name, string InSignature, string OutSignature, IReadOnlyList<(string Name, string Type, string Direction)> Args);

/// <summary>What one interface XML declares: the daemon dispatches by it (unknown member, wrong signature) and the API reference is checked against it.</summary>
public sealed class InterfaceSpec
{
    public required string Name { get; init; }
    public required IReadOnlyDictionary<string, MemberSpec> Methods { get; init; }
    public required IReadOnlyDictionary<string, MemberSpec> Signals { get; init; }
    public required IReadOnlyDictionary<string, PropertySpec> Properties { get; init; }

    public static InterfaceSpec Parse(ReadOnlyMemory<byte> xml)
    {
        var element = XElement.Parse(Encoding.UTF8.GetString(xml.Span));
        static MemberSpec Member(XElement e)
        {
            var args = e.Elements("arg")
                .Select(a => (a.Attribute("name")?.Value ?? "", a.Attribute("type")!.Value, a.Attribute("direction")?.Value ?? (e.Name.LocalName == "signal" ? "out" : "in")))
                .ToList();
            return new MemberSpec(e.Attribute("name")!.Value,
                string.Concat(args.Where(a => a.Item3 == "in").Select(a => a.Item2)),
                string.Concat(args.Where(a => a.Item3 == "out").Select(a => a.Item2)), args);
        }
        string Annotation(XElement e, string name) =>
            e.Elements("annotation").FirstOrDefault(a => a.Attribute("name")?.Value == name)?.Attribute("value")?.Value ?? "";
        return new InterfaceSpec
        {
            Name = element.Attribute("name")!.Value,
            Methods = element.Elements("method").Select(Member).ToDictionary(m => m.Name, StringComparer.Ordinal),
            Signals = element.Elements("signal").Select(Member).ToDictionary(m => m.Name, StringComparer.Ordinal),
            Properties = element.Elements("property").Select(p => new PropertySpec(p.Attribute("name")!.Value, p.Attribute("type")!.Value,
                    Annotation(p, Introspection.EmitsChangedSignalAnnotation) is { Length: > 0 } emits ? emits : "true",
                    Annotation(p, Introspection.AdminOnlyAnnotation) == "true"))
                .ToDictionary(p => p.Name, StringComparer.Ordinal),
        };
    }
}
