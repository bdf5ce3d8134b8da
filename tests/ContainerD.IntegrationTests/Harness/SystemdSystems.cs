namespace ContainerD.IntegrationTests.Harness;

/// <summary>
/// The generations of examples/systemd-system the systemd guest tests boot, built once per test run
/// by the example's own build.sh (offline; Debian's packages come from its cache after the first run).
/// </summary>
public sealed record SystemdSystems(string Hello, string Greeter, string GreeterAndFailing, string Stubborn)
{
    private static readonly Lazy<Task<SystemdSystems>> Built = new(BuildAllAsync);

    public static Task<SystemdSystems> GetAsync() => Built.Value;

    public static string BuildScript => Path.Combine(Repo.Root, "examples", "systemd-system", "build.sh");

    /// <summary>Builds a generation: NAME=VALUE arguments of system.nix (units, variant, hostName).</summary>
    public static async Task<string> BuildAsync(params string[] args)
    {
        var (exit, stdout, stderr) = await Programs.Run(BuildScript, args);
        Assert.True(exit == 0, $"{BuildScript} failed:\n{stderr}");
        return stdout.Trim().Split('\n')[^1];
    }

    private static async Task<SystemdSystems> BuildAllAsync()
    {
        // The first build adds Debian's files to the store; the others reuse that path.
        string hello = await BuildAsync("units=hello", "variant=1");
        return new SystemdSystems(
            hello,
            await BuildAsync("units=greeter", "variant=2"),
            await BuildAsync("units=greeter fail-x", "variant=3"),
            await BuildAsync("units=hello stubborn", "variant=4"));
    }

    /// <summary>A definition of a prebuilt systemd system, activated by switch-to-configuration.</summary>
    public static string Definition(string name, string system, string extra = "") => $"""
        name: {name}
        system: {"{"} path: {system} {"}"}
        activation: switch
        stopTimeout: 20s
        {extra}
        """;
}
