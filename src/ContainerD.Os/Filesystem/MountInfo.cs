namespace ContainerD.Os.Filesystem;

/// <summary>/proc/self/mountinfo, read as bytes: a mount point may have any bytes in its name.</summary>
internal static class MountInfo
{
    /// <summary>The mount points (field 5, octal escapes undone) of every line, in the kernel's order.</summary>
    public static List<byte[]> MountPoints(ReadOnlySpan<byte> mountinfo)
    {
        var points = new List<byte[]>();
        foreach (var range in mountinfo.Split((byte)'\n'))
        {
            var line = mountinfo[range];
            int field = 0;
            foreach (var part in line.Split((byte)' '))
            {
                if (field++ == 4)
                {
                    points.Add(Unescape(line[part]));
                    break;
                }
            }
        }
        return points;
    }

    /// <summary>The mount points equal to or below dir (a canonical path), in the kernel's order.</summary>
    public static List<byte[]> MountPointsUnder(ReadOnlySpan<byte> mountinfo, byte[] dir) =>
        MountPoints(mountinfo).Where(point => IsAtOrUnder(point, dir)).ToList();

    public static bool IsAtOrUnder(ReadOnlySpan<byte> point, ReadOnlySpan<byte> dir) =>
        point.StartsWith(dir) && (point.Length == dir.Length || point[dir.Length] == (byte)'/' || dir.SequenceEqual("/"u8));

    /// <summary>The kernel writes space, tab, newline and backslash as \ooo.</summary>
    private static byte[] Unescape(ReadOnlySpan<byte> field)
    {
        var bytes = new List<byte>(field.Length);
        for (int i = 0; i < field.Length; i++)
        {
            if (field[i] == (byte)'\\' && i + 3 < field.Length && IsOctal(field[i + 1]) && IsOctal(field[i + 2]) && IsOctal(field[i + 3]))
            {
                bytes.Add((byte)(((field[i + 1] - '0') << 6) | ((field[i + 2] - '0') << 3) | (field[i + 3] - '0')));
                i += 3;
            }
            else
            {
                bytes.Add(field[i]);
            }
        }
        return [.. bytes];
    }

    private static bool IsOctal(byte b) => b is >= (byte)'0' and <= (byte)'7';
}
