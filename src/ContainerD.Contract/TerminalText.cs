using System.Globalization;
using System.Text;

namespace ContainerD.Contract;

/// <summary>
/// Text from the daemon shown on a terminal: what a container or a build printed must not drive
/// the admin's terminal (escape sequences can retitle it, move the cursor, rewrite what was shown
/// or, on some terminals, answer back as typed input). Control characters but tab and newline,
/// DEL, the C1 controls and the bidirectional overrides are shown as \xNN / \u{NNNN} instead.
/// </summary>
public static class TerminalText
{
    public static string Sanitize(string text)
    {
        if (!NeedsEscaping(text))
        {
            return text;
        }
        var shown = new StringBuilder(text.Length + 16);
        foreach (char c in text)
        {
            if (IsDangerous(c))
            {
                shown.Append(c <= 0xff
                    ? "\\x" + ((int)c).ToString("x2", CultureInfo.InvariantCulture)
                    : "\\u{" + ((int)c).ToString("x4", CultureInfo.InvariantCulture) + "}");
            }
            else
            {
                shown.Append(c);
            }
        }
        return shown.ToString();
    }

    private static bool NeedsEscaping(string text)
    {
        foreach (char c in text)
        {
            if (IsDangerous(c))
            {
                return true;
            }
        }
        return false;
    }

    private static bool IsDangerous(char c) =>
        (c < 0x20 && c != '\t' && c != '\n') || (c >= 0x7f && c <= 0x9f)
        || c is >= '\u202a' and <= '\u202e' || c is >= '\u2066' and <= '\u2069';
}
