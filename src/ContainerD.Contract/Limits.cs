namespace ContainerD.Contract;

/// <summary>The documented bounds of the API (docs/API.md): what a caller may send and what the daemon sends back.</summary>
public static class Limits
{
    /// <summary>A container name: ^[a-z][a-z0-9-]{0,30}$.</summary>
    public const int NameBytes = 31;

    /// <summary>RunCommand: stdout and stderr together. Past it the command is killed and the call fails with OutputTooLarge.</summary>
    public const int RunCommandOutputBytes = 16 << 20;

    /// <summary>RunCommand: how many arguments and environment entries, and how many bytes they take together.</summary>
    public const int RunCommandArgs = 4096;
    public const int RunCommandArgBytes = 1 << 20;

    /// <summary>StopContainerWithTimeout: at most a day.</summary>
    public const uint StopTimeoutSeconds = 86400;

    /// <summary>A generation number is a positive int32 (nix-env's own limit).</summary>
    public const uint MaxGeneration = int.MaxValue;
}
