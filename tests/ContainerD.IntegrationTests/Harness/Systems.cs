namespace ContainerD.IntegrationTests.Harness;

/// <summary>Builds the example system outside the daemon, for definitions that name a prebuilt store path.</summary>
public static class Systems
{
    public static async Task<string> BuildAsync(string hostName, string variant = "1")
    {
        var (exit, stdout, stderr) = await Programs.Run("nix-build", Repo.Fixture("busybox-system.nix"), "--no-out-link",
            "--argstr", "hostName", hostName, "--argstr", "variant", variant, "--argstr", "busybox", Prerequisites.Busybox);
        Assert.True(exit == 0, stderr);
        return stdout.Trim().Split('\n')[^1];
    }
}
