namespace ContainerD.Testing;

/// <summary>Where the repository, the built binaries and the fixtures are.</summary>
public static class Repo
{
    public static string Root { get; } = FindRoot();

    public static string Benchmarks => Binary("ContainerD.Benchmarks", "ContainerD.Benchmarks");
    /// <summary>The CLI as users get it: NativeAOT-published (test.sh publishes it before the tests run).</summary>
    public static string Cli => Published("ContainerD.Cli", "containerctl");
    /// <summary>The daemon as install.sh publishes it (NativeAOT, linux-x64).</summary>
    public static string PublishedDaemon => Published("ContainerD.Daemon", "containerctld");
    public static string Fixtures => Path.Combine(AppContext.BaseDirectory, "Fixtures");
    public static string Fixture(string name) => Path.Combine(Fixtures, name);

    private static string Binary(string project, string name)
    {
        // UseArtifactsOutput: artifacts/bin/<project>/<configuration>/; the tests' own configuration matches.
        string configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/')).Name;
        string path = Path.Combine(Root, "artifacts", "bin", project, configuration, name);
        return File.Exists(path) ? path : throw new FileNotFoundException($"{path} is not built; run 'dotnet build' first");
    }

    private static string Published(string project, string name)
    {
        string path = Path.Combine(Root, "artifacts", "publish", project, "release_linux-x64", name);
        return File.Exists(path) ? path : throw new FileNotFoundException($"{path} is not published; run ./test.sh, or 'dotnet publish src/{project}' first");
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "ContainerD.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("cannot find the repository root (ContainerD.sln) above " + AppContext.BaseDirectory);
    }
}
