using System.Text;
using ContainerD.Contract;

namespace ContainerD.IntegrationTests.Harness;

/// <summary>Commands a test expects to succeed: a failure fails the test with what the command said.</summary>
public static class Checked
{
    /// <summary>argv inside a running container (RunCommand); its stdout, trimmed.</summary>
    public static async Task<string> InsideAsync(ContainerDClient client, string name, params string[] argv)
    {
        var result = await client.RunCommandAsync(await client.GetContainerAsync(name), argv, new Dictionary<string, string>());
        Assert.True(result.ExitCode == 0, $"{string.Join(' ', argv)} in {name}: {Encoding.UTF8.GetString(result.Stderr)}");
        return Encoding.UTF8.GetString(result.Stdout).Trim();
    }

    /// <summary>containerctl against the daemon, exit code 0.</summary>
    public static async Task<CliResult> CliAsync(DaemonUnderTest daemon, params string[] args)
    {
        var result = await daemon.CliAsync(args);
        Assert.True(result.ExitCode == 0, result.ToString());
        return result;
    }
}
