using ContainerD.Cli;

namespace ContainerD.Tests.Cli;

/// <summary>Completion's commands and options come from the help texts: what the usage names, after the command word.</summary>
public sealed class CompletionTests
{
    [Theory]
    [InlineData("stop", "--force --timeout --no-block --help")]
    [InlineData("create", "-f --nix -A --arg --flake --system --autostart --start --no-block --build-on --help")]
    [InlineData("snapshot", "--no-block --delete --help")]
    // containerctl's own --ssh-config stands before the command: not one of copy's options.
    [InlineData("copy", "--to --to-bus --name --all-generations --help")]
    [InlineData("run", "--help")]
    public void A_commands_options_are_those_its_usage_lines_name(string command, string options) =>
        Assert.Equal(options.Split(' '), Help.OptionsOf(command));

    [Fact]
    public void Every_command_has_a_usage_line_and_an_unknown_one_has_no_options()
    {
        Assert.Contains("snapshots", Help.CommandNames);
        Assert.All(Help.CommandNames, c => Assert.StartsWith($"usage: containerctl ", Help.For(c).TrimStart()));
        Assert.Empty(Help.OptionsOf("frobnicate"));
    }
}
