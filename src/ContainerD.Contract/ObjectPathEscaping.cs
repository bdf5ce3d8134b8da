using System.Text;

namespace ContainerD.Contract;

/// <summary>
/// systemd's rule for putting a name into an object path element: bytes outside [A-Za-z0-9]
/// become _xx (lower-case hex), and the empty string becomes "_".
/// </summary>
public static class ObjectPathEscaping
{
    public static string Escape(string name)
    {
        if (name.Length == 0)
        {
            return "_";
        }
        var escaped = new StringBuilder(name.Length);
        foreach (byte b in Encoding.UTF8.GetBytes(name))
        {
            if (char.IsAsciiLetterOrDigit((char)b))
            {
                escaped.Append((char)b);
            }
            else
            {
                escaped.Append('_').Append(b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture));
            }
        }
        return escaped.ToString();
    }

    /// <summary>The inverse of Escape; null when the element is not a valid escape.</summary>
    public static string? Unescape(string element)
    {
        if (element == "_")
        {
            return "";
        }
        var bytes = new List<byte>(element.Length);
        for (int i = 0; i < element.Length; i++)
        {
            char c = element[i];
            if (c == '_')
            {
                if (i + 2 >= element.Length
                    || !byte.TryParse(element.AsSpan(i + 1, 2), System.Globalization.NumberStyles.HexNumber, null, out byte b))
                {
                    return null;
                }
                bytes.Add(b);
                i += 2;
            }
            else if (char.IsAsciiLetterOrDigit(c))
            {
                bytes.Add((byte)c);
            }
            else
            {
                return null;
            }
        }
        return Encoding.UTF8.GetString(bytes.ToArray());
    }
}
