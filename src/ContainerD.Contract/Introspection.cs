namespace ContainerD.Contract;

/// <summary>The interface XML the daemon serves; embedded files, pinned by a snapshot test.</summary>
public static class Introspection
{
    public static ReadOnlyMemory<byte> Manager { get; } = Load("io.containerctl.ContainerD1.Manager.xml");
    public static ReadOnlyMemory<byte> Container { get; } = Load("io.containerctl.ContainerD1.Container.xml");
    public static ReadOnlyMemory<byte> Job { get; } = Load("io.containerctl.ContainerD1.Job.xml");

    private static byte[] Load(string name)
    {
        using var stream = typeof(Introspection).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"embedded resource {name} is missing");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
