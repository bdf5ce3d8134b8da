using System.Diagnostics;
using ContainerD.Os.Processes;

namespace ContainerD.Tests.Os;

public sealed class CommandRunnerTests
{
    [Fact]
    public async Task Arguments_reach_the_program_exactly_with_no_shell_in_between()
    {
        var output = await CommandRunner.RunAsync("printf", ["%s|", "a b", "$HOME", "; rm -rf /", "'q'", ""]);
        Assert.Equal(0, output.ExitCode);
        Assert.Equal("a b|$HOME|; rm -rf /|'q'||", output.StdoutText);
    }

    [Fact]
    public async Task Output_is_kept_byte_for_byte_and_stderr_lines_stream_as_they_come()
    {
        var lines = new List<string>();
        var output = await CommandRunner.RunAsync("sh", ["-c", "printf '\\377\\000x'; echo one >&2; echo two >&2; printf 'tail' >&2; exit 3"], lines.Add);
        Assert.Equal(3, output.ExitCode);
        Assert.Equal(new byte[] { 0xff, 0x00, (byte)'x' }, output.Stdout);
        Assert.Equal(["one", "two", "tail"], lines);
        Assert.Equal("one\ntwo\ntail", output.Stderr);
        Assert.Equal("two\ntail", output.StderrTail(2));
    }

    [Fact]
    public async Task Cancellation_kills_the_process()
    {
        // A duration no other sleep on the machine has: the process is found by it, and must be gone.
        string seconds = $"30.{Random.Shared.Next(100_000, 999_999)}";
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => CommandRunner.RunAsync("sleep", [seconds], cancellationToken: cts.Token));
        Assert.DoesNotContain(Directory.EnumerateDirectories("/proc").Select(d => Path.Combine(d, "cmdline")), f =>
        {
            try
            {
                return File.ReadAllText(f).Contains(seconds, StringComparison.Ordinal);
            }
            catch (IOException)
            {
                return false;
            }
            catch (UnauthorizedAccessException)
            {
                return false;
            }
        });
    }

    [Fact]
    public async Task A_missing_program_is_a_clear_error()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => CommandRunner.RunAsync("no-such-program-here", []));
        Assert.Contains("is it installed and on PATH?", error.Message);
    }
}
