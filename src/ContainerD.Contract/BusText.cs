using System.Text;

namespace ContainerD.Contract;

/// <summary>
/// The one place that makes text safe to put on the bus. A D-Bus string must be valid UTF-8 and
/// may not hold NUL; a message carrying either costs the sender its connection, and one over the
/// bus's size limit (32 MiB on a system bus) as well. Whatever a child process printed, whatever a
/// file is named and whatever a client sent, every string the daemon sends goes through here:
/// invalid UTF-8, lone surrogates and NUL become U+FFFD, and text longer than its bound is cut with
/// a note saying how much was cut. RunCommand's output is not text: it stays bytes (ay), exact.
/// </summary>
public static class BusText
{
    /// <summary>What replaces a NUL, an invalid UTF-8 sequence or a lone surrogate.</summary>
    public const char Replacement = '\uFFFD';

    /// <summary>One JobLog line; a longer line is cut and says so.</summary>
    public const int MaxLineBytes = 4096;

    /// <summary>An error message, a job's result message, a property's text (but Definition).</summary>
    public const int MaxMessageBytes = 16 * 1024;

    /// <summary>A definition (the Definition property, CreateContainer's yaml): YamlLoader's limit, 1 MiB.</summary>
    public const int MaxDefinitionBytes = 1 << 20;

    /// <summary>How much of a client's input an error message repeats.</summary>
    public const int MaxEchoChars = 40;

    /// <summary>Text made bus-safe and cut to maxBytes of UTF-8 (keeping its head).</summary>
    public static string Safe(string? text, int maxBytes = MaxMessageBytes)
    {
        if (string.IsNullOrEmpty(text))
        {
            return "";
        }
        string clean = IsClean(text) ? text : Clean(text);
        return Encoding.UTF8.GetByteCount(clean) <= maxBytes ? clean : CutHead(clean, maxBytes);
    }

    /// <summary>Bytes a program printed, as bus-safe text of at most maxBytes (keeping its head).</summary>
    public static string FromBytes(ReadOnlySpan<byte> bytes, int maxBytes = MaxMessageBytes)
    {
        // A generous prefix is enough to fill maxBytes: decoding never yields fewer bytes than it read
        // (a replacement character is 3 bytes and stands for 1 to 3 input bytes).
        bool cut = bytes.Length > maxBytes;
        string text = Encoding.UTF8.GetString(cut ? bytes[..maxBytes] : bytes);
        string clean = IsClean(text) ? text : Clean(text);
        if (!cut && Encoding.UTF8.GetByteCount(clean) <= maxBytes)
        {
            return clean;
        }
        return CutHead(clean, maxBytes, bytes.Length);
    }

    /// <summary>The end of long text (the tail of a log is what explains a failure), bus-safe, at most maxBytes.</summary>
    public static string Tail(string? text, int maxBytes = MaxMessageBytes)
    {
        if (string.IsNullOrEmpty(text))
        {
            return "";
        }
        string clean = IsClean(text) ? text : Clean(text);
        int total = Encoding.UTF8.GetByteCount(clean);
        if (total <= maxBytes)
        {
            return clean;
        }
        string note = $"[{total} bytes; the first ";
        // Walk back from the end until the budget (less the note) is used.
        int budget = maxBytes - note.Length - 32;
        int start = clean.Length, used = 0;
        while (start > 0)
        {
            int size = CharBytes(clean, start - 1, out int width);
            if (used + size > budget)
            {
                break;
            }
            used += size;
            start -= width;
        }
        return $"{note}{total - used} are cut] {clean[start..]}";
    }

    /// <summary>A client's input quoted in an error message: its head only, and how long it was.</summary>
    public static string Echo(string? input)
    {
        if (input is null)
        {
            return "";
        }
        string head = input.Length <= MaxEchoChars ? input : input[..MaxEchoChars];
        if (head.Length > 0 && char.IsHighSurrogate(head[^1]))
        {
            head = head[..^1];
        }
        head = Clean(head);
        return input.Length <= MaxEchoChars ? head : $"{head}… ({Encoding.UTF8.GetByteCount(Clean(input))} bytes)";
    }

    /// <summary>A client's input, as the bytes it sent, quoted in an error message: its head only, and how long it was.</summary>
    public static string EchoBytes(ReadOnlySpan<byte> input)
    {
        string head = FromBytes(input[..Math.Min(input.Length, MaxEchoChars)], MaxEchoChars * 3);
        return input.Length <= MaxEchoChars ? head : $"{head}… ({input.Length} bytes)";
    }

    /// <summary>True when text is already valid for the bus: no NUL, no lone surrogate.</summary>
    public static bool IsClean(ReadOnlySpan<char> text)
    {
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c == '\0')
            {
                return false;
            }
            if (char.IsSurrogate(c))
            {
                if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
                {
                    i++;
                    continue;
                }
                return false;
            }
        }
        return true;
    }

    private static string Clean(string text)
    {
        var clean = new StringBuilder(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c == '\0')
            {
                clean.Append(Replacement);
            }
            else if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                clean.Append(c).Append(text[++i]);
            }
            else if (char.IsSurrogate(c))
            {
                clean.Append(Replacement);
            }
            else
            {
                clean.Append(c);
            }
        }
        return clean.ToString();
    }

    /// <summary>The head of clean text that fits maxBytes together with a note of what was cut.</summary>
    private static string CutHead(string clean, int maxBytes, long? originalBytes = null)
    {
        long total = originalBytes ?? Encoding.UTF8.GetByteCount(clean);
        int budget = Math.Max(0, maxBytes - 64);
        int end = 0, used = 0;
        while (end < clean.Length)
        {
            int size = CharBytes(clean, end, out int width);
            if (used + size > budget)
            {
                break;
            }
            used += size;
            end += width;
        }
        return $"{clean[..end]}… [cut: {total} bytes, the limit is {maxBytes}]";
    }

    /// <summary>UTF-8 size of the character at index i of clean text (width: 1, or 2 for a surrogate pair).</summary>
    private static int CharBytes(string clean, int i, out int width)
    {
        char c = clean[i];
        if (char.IsLowSurrogate(c) && i > 0 && char.IsHighSurrogate(clean[i - 1]))
        {
            // Walking backwards onto the second half of a pair.
            width = 2;
            return 4;
        }
        if (char.IsHighSurrogate(c))
        {
            width = 2;
            return 4;
        }
        width = 1;
        return c < 0x80 ? 1 : c < 0x800 ? 2 : 3;
    }
}
