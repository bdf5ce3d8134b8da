using System.Buffers.Binary;
using System.Text;
using ContainerD.Domain;

namespace ContainerD.Os.Nix;

/// <summary>
/// Nix's serve protocol, as ssh:// stores and nix-copy-closure speak it to `nix-store --serve`:
/// here only its greeting and cmdQueryValidPaths with lock set, for which Nix answers which paths
/// are valid and holds each as a temporary root against any garbage collection (one running now
/// included, through the collector's socket) for as long as the serving nix-store lives.
/// Numbers are little-endian u64; a string is its length, its bytes and zeros up to 8.
/// A question that fails or is canceled midway leaves the server in a state nobody knows (stuck
/// on a lock, say, where the end of its input goes unread): kill ends it there, with what it holds.
/// </summary>
public sealed class ServeConnection(Stream toServer, Stream fromServer, Func<ValueTask> end, Func<string> serverErrors, Action? kill = null)
    : IAsyncDisposable
{
    private const ulong Magic1 = 0x390c9deb, Magic2 = 0x5452eecb;
    private const ulong ProtocolMajor = 0x200;
    private const ulong ClientVersion = ProtocolMajor | 5;
    private const ulong QueryValidPaths = 1;
    private const int MaxString = 4096;

    /// <summary>The greeting: our magic, the server's magic and version (major 2), our version.</summary>
    public async Task HandshakeAsync(CancellationToken cancellationToken)
    {
        await SendAsync([Magic1], cancellationToken).ConfigureAwait(false);
        ulong magic = await ReadNumberAsync(cancellationToken).ConfigureAwait(false);
        ulong version = await ReadNumberAsync(cancellationToken).ConfigureAwait(false);
        if (magic != Magic2 || (version & 0xff00) != ProtocolMajor)
        {
            throw Broken($"nix-store --serve does not speak serve protocol 2 (magic {magic:x}, version {version:x})");
        }
        await SendAsync([ClientVersion], cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Those of the paths Nix holds as valid; each of them is now a temporary root of the server. A
    /// question not answered (an error, canceled) ends the server: it holds nothing after it.
    /// </summary>
    public async Task<IReadOnlySet<string>> HoldValidAsync(IReadOnlyList<string> paths, CancellationToken cancellationToken)
    {
        try
        {
            return await AskValidAsync(paths, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            kill?.Invoke();
            await DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task<IReadOnlySet<string>> AskValidAsync(IReadOnlyList<string> paths, CancellationToken cancellationToken)
    {
        var request = new MemoryStream();
        foreach (ulong n in (ReadOnlySpan<ulong>)[QueryValidPaths, 1 /* lock */, 0 /* substitute */, (ulong)paths.Count])
        {
            WriteNumber(request, n);
        }
        foreach (string path in paths)
        {
            byte[] bytes = Encoding.UTF8.GetBytes(path);
            WriteNumber(request, (ulong)bytes.Length);
            request.Write(bytes);
            request.Write(new byte[Padding(bytes.Length)]);
        }
        await WriteAsync(request.ToArray(), cancellationToken).ConfigureAwait(false);
        ulong count = await ReadNumberAsync(cancellationToken).ConfigureAwait(false);
        if (count > (ulong)paths.Count)
        {
            throw Broken($"nix-store --serve answered {count} valid paths for {paths.Count} asked");
        }
        var valid = new HashSet<string>(StringComparer.Ordinal);
        for (ulong i = 0; i < count; i++)
        {
            valid.Add(await ReadStringAsync(cancellationToken).ConfigureAwait(false));
        }
        return valid;
    }

    /// <summary>Closes the server's input: nix-store ends, and its temporary roots with it.</summary>
    public ValueTask DisposeAsync() => Interlocked.Exchange(ref _ended, 1) == 0 ? end() : ValueTask.CompletedTask;

    private int _ended;

    private async Task SendAsync(ulong[] numbers, CancellationToken cancellationToken)
    {
        var bytes = new MemoryStream();
        foreach (ulong n in numbers)
        {
            WriteNumber(bytes, n);
        }
        await WriteAsync(bytes.ToArray(), cancellationToken).ConfigureAwait(false);
    }

    private async Task WriteAsync(byte[] bytes, CancellationToken cancellationToken)
    {
        try
        {
            await toServer.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
            await toServer.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            throw Broken($"nix-store --serve stopped reading ({e.Message})");
        }
    }

    private static void WriteNumber(Stream stream, ulong n)
    {
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, n);
        stream.Write(bytes);
    }

    private async Task<ulong> ReadNumberAsync(CancellationToken cancellationToken) =>
        BinaryPrimitives.ReadUInt64LittleEndian(await ReadExactlyAsync(8, cancellationToken).ConfigureAwait(false));

    private async Task<string> ReadStringAsync(CancellationToken cancellationToken)
    {
        ulong length = await ReadNumberAsync(cancellationToken).ConfigureAwait(false);
        if (length > MaxString)
        {
            throw Broken($"nix-store --serve sent a path of {length} bytes");
        }
        byte[] bytes = await ReadExactlyAsync((int)length + Padding((int)length), cancellationToken).ConfigureAwait(false);
        return Encoding.UTF8.GetString(bytes, 0, (int)length);
    }

    private async Task<byte[]> ReadExactlyAsync(int count, CancellationToken cancellationToken)
    {
        var bytes = new byte[count];
        try
        {
            await fromServer.ReadExactlyAsync(bytes, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is EndOfStreamException or IOException)
        {
            throw Broken("nix-store --serve ended before it answered");
        }
        return bytes;
    }

    private static int Padding(int length) => (8 - length % 8) % 8;

    private ContainerDException Broken(string what) =>
        new(ErrorKind.Failed, serverErrors() is { Length: > 0 } errors ? $"{what}: {errors}" : what);
}
