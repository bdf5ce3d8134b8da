namespace ContainerD.Os;

/// <summary>The small text files of /proc, /sys and cgroupfs: a counter, a few lines.</summary>
public static class KernelFile
{
    /// <summary>
    /// The file's text, read with one open and pread and no stream (a scrape reads a dozen per
    /// container), or null when it is not there (the container stopped meanwhile, or the kernel has
    /// no such file). A file larger than the buffer is read whole the ordinary way.
    /// </summary>
    public static string? Read(string path)
    {
        try
        {
            using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            Span<byte> buffer = stackalloc byte[8192];
            int total = 0, read;
            while (total < buffer.Length && (read = RandomAccess.Read(handle, buffer[total..], total)) > 0)
            {
                total += read;
            }
            return total < buffer.Length ? System.Text.Encoding.UTF8.GetString(buffer[..total]) : File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
