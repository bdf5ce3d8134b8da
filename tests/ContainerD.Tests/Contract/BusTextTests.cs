using System.Text;
using ContainerD.Contract;

namespace ContainerD.Tests.Contract;

/// <summary>Whatever bytes a child process printed, what the daemon puts on the bus is valid D-Bus text.</summary>
public sealed class BusTextTests
{
    private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>A D-Bus string: valid UTF-8 (no lone surrogates either) and no NUL.</summary>
    private static void AssertBusSafe(string text, int maxBytes)
    {
        Assert.DoesNotContain('\0', text);
        byte[] bytes = Strict.GetBytes(text); // throws on a lone surrogate
        Assert.Equal(text, Strict.GetString(bytes));
        Assert.True(bytes.Length <= maxBytes, $"{bytes.Length} bytes > {maxBytes}");
    }

    private static byte[] RandomBytes(Random random, int length, bool mostlyText)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        if (mostlyText)
        {
            // Some printable runs, some NULs, some stray continuation and lead bytes, as Nix's output has.
            for (int i = 0; i < length; i++)
            {
                bytes[i] = random.Next(10) switch { < 6 => (byte)random.Next(0x20, 0x7f), 6 => 0, 7 => 0x80, 8 => 0xe2, _ => bytes[i] };
            }
        }
        return bytes;
    }

    [Fact]
    public void Random_bytes_always_become_bounded_valid_text_without_NUL()
    {
        var random = new Random(20261201);
        for (int round = 0; round < 20000; round++)
        {
            int max = random.Next(64, 600);
            var bytes = RandomBytes(random, random.Next(0, 1200), mostlyText: round % 2 == 0);
            AssertBusSafe(BusText.FromBytes(bytes, max), max);
            string decoded = Encoding.UTF8.GetString(bytes);
            AssertBusSafe(BusText.Safe(decoded, max), max);
            AssertBusSafe(BusText.Tail(decoded, max), max);
            AssertBusSafe(BusText.EchoBytes(bytes), 4 * BusText.MaxEchoChars + 32);
        }
    }

    [Fact]
    public void Random_UTF16_with_lone_surrogates_and_NUL_becomes_valid_text()
    {
        var random = new Random(7);
        for (int round = 0; round < 20000; round++)
        {
            var chars = new char[random.Next(0, 300)];
            for (int i = 0; i < chars.Length; i++)
            {
                chars[i] = random.Next(6) switch { 0 => '\0', 1 => (char)random.Next(0xd800, 0xe000), 2 => 'é', _ => (char)random.Next(0x20, 0x7f) };
            }
            string text = new(chars);
            int max = random.Next(64, 1000);
            AssertBusSafe(BusText.Safe(text, max), max);
            AssertBusSafe(BusText.Tail(text, max), max);
            AssertBusSafe(BusText.Echo(text), 4 * BusText.MaxEchoChars + 32);
        }
    }

    [Fact]
    public void Clean_text_within_bounds_passes_unchanged()
    {
        var random = new Random(3);
        for (int round = 0; round < 5000; round++)
        {
            string text = string.Concat(Enumerable.Range(0, random.Next(0, 100)).Select(_ => random.Next(4) switch { 0 => "ü", 1 => "😀", 2 => "\n", _ => "x" }));
            Assert.Equal(text, BusText.Safe(text, 1000));
            Assert.Equal(text, BusText.Tail(text, 1000));
            Assert.Equal(text, BusText.FromBytes(Encoding.UTF8.GetBytes(text), 1000));
        }
    }

    [Fact]
    public void Nix_exec_error_output_with_NULs_becomes_readable_text()
    {
        byte[] nix = [.. "building '/nix/store/x.drv'...\n\u0001\n\u0005"u8, 0, 0, 0, 0, 0, 0, 0, .. "Error"u8, 0, 0, .. "executing '/nonexistent': No such file or directory"u8, 0, 0, (byte)'\n'];
        string text = BusText.FromBytes(nix);
        AssertBusSafe(text, BusText.MaxMessageBytes);
        Assert.Contains("executing '/nonexistent': No such file or directory", text);
        Assert.Contains(BusText.Replacement, text);
    }

    [Fact]
    public void A_long_line_is_cut_and_says_so_and_a_long_log_keeps_its_tail()
    {
        string line = BusText.Safe(new string('x', 40_000_000), BusText.MaxLineBytes);
        Assert.True(Encoding.UTF8.GetByteCount(line) <= BusText.MaxLineBytes);
        Assert.Contains("[cut: 40000000 bytes", line);

        string log = string.Concat(Enumerable.Range(0, 100_000).Select(i => $"line {i}\n")) + "error: the reason";
        string tail = BusText.Tail(log, BusText.MaxMessageBytes);
        Assert.True(Encoding.UTF8.GetByteCount(tail) <= BusText.MaxMessageBytes);
        Assert.EndsWith("error: the reason", tail);
        Assert.StartsWith("[", tail);
        Assert.Contains("are cut]", tail);
    }

    [Fact]
    public void An_echo_of_client_input_is_short_whatever_its_size()
    {
        string echo = BusText.Echo(new string('a', 32 << 20));
        Assert.True(echo.Length < 100, echo);
        Assert.Contains($"({32 << 20} bytes)", echo);
    }

    [Theory]
    [InlineData("\u001b]0;pwned\u0007title", "\\x1b]0;pwned\\x07title")]
    [InlineData("\u001b[2J\u001b[Hclear", "\\x1b[2J\\x1b[Hclear")]
    [InlineData("tab\tand\nnewline stay", "tab\tand\nnewline stay")]
    [InlineData("c1 \u009b31m and del \u007f", "c1 \\x9b31m and del \\x7f")]
    [InlineData("bidi \u202eevil", "bidi \\u{202e}evil")]
    public void Terminal_text_shows_control_sequences_instead_of_obeying_them(string text, string shown) =>
        Assert.Equal(shown, TerminalText.Sanitize(text));
}
