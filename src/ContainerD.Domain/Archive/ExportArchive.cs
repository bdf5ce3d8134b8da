using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace ContainerD.Domain.Archive;

/// <summary>
/// The export format, version 1 (docs/EXPORT.md): a stream that can be written as it is made and
/// read as it arrives (into ssh, from a pipe), with each part checked before it is trusted.
///
///   "CTDEXPORT\n"                                   magic, 10 bytes
///   section*                                        manifest first, end last
///   section = kind:u8  nameLength:u16  name         (UTF-8; which generation, say)
///             (length:u32 bytes)*  0:u32             the data in chunks, a zero length ends it
///             sha256:32                             of the data
///
/// Integers are big-endian. A stream that stops anywhere before the end section, or whose data
/// does not match its hash, is refused.
/// </summary>
public static class ExportArchive
{
    public static ReadOnlySpan<byte> Magic => "CTDEXPORT\n"u8;
    public const int FormatVersion = 1;
    public const int ChunkBytes = 1 << 20;
}

/// <summary>What a section holds.</summary>
public enum SectionKind : byte
{
    /// <summary>The manifest: format version, name, uid count, generations (JSON).</summary>
    Manifest = (byte)'m',
    /// <summary>The definition of a generation (YAML); its name is the generation's number.</summary>
    Definition = (byte)'d',
    /// <summary>The writable root, as a tar with container-relative owners.</summary>
    Rootfs = (byte)'r',
    /// <summary>The closure of the systems, as nix-store --export writes it.</summary>
    Closure = (byte)'c',
    /// <summary>The end: nothing follows; without it the archive is truncated.</summary>
    End = (byte)'e',
}

/// <summary>Writes sections to a stream; each section's data goes in as it comes, hashed on the way.</summary>
public sealed class ArchiveWriter(Stream output)
{
    private bool _started;

    public async Task WriteSectionAsync(SectionKind kind, string name, Func<Func<ReadOnlyMemory<byte>, Task>, Task> produce, CancellationToken cancellationToken)
    {
        if (!_started)
        {
            await output.WriteAsync(ExportArchive.Magic.ToArray(), cancellationToken).ConfigureAwait(false);
            _started = true;
        }
        byte[] nameBytes = Encoding.UTF8.GetBytes(name);
        var header = new byte[3 + nameBytes.Length];
        header[0] = (byte)kind;
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(1), checked((ushort)nameBytes.Length));
        nameBytes.CopyTo(header, 3);
        await output.WriteAsync(header, cancellationToken).ConfigureAwait(false);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var length = new byte[4];
        await produce(async data =>
        {
            for (int offset = 0; offset < data.Length; offset += ExportArchive.ChunkBytes)
            {
                var chunk = data.Slice(offset, Math.Min(ExportArchive.ChunkBytes, data.Length - offset));
                BinaryPrimitives.WriteUInt32BigEndian(length, (uint)chunk.Length);
                await output.WriteAsync(length, cancellationToken).ConfigureAwait(false);
                await output.WriteAsync(chunk, cancellationToken).ConfigureAwait(false);
                hash.AppendData(chunk.Span);
            }
        }).ConfigureAwait(false);
        BinaryPrimitives.WriteUInt32BigEndian(length, 0);
        await output.WriteAsync(length, cancellationToken).ConfigureAwait(false);
        await output.WriteAsync(hash.GetHashAndReset(), cancellationToken).ConfigureAwait(false);
    }

    public Task WriteSectionAsync(SectionKind kind, string name, ReadOnlyMemory<byte> data, CancellationToken cancellationToken) =>
        WriteSectionAsync(kind, name, write => data.IsEmpty ? Task.CompletedTask : write(data), cancellationToken);

    public Task WriteEndAsync(CancellationToken cancellationToken) => WriteSectionAsync(SectionKind.End, "", ReadOnlyMemory<byte>.Empty, cancellationToken);
}

/// <summary>
/// Reads sections from a stream. A section's data is handed on in chunks as it arrives and is
/// trusted only once ReadDataAsync returns (its hash matched); any damage is an InvalidArgs
/// ContainerDException that says where.
/// </summary>
public sealed class ArchiveReader(Stream input)
{
    private bool _started;
    private long _offset;

    /// <summary>The next section's kind and name; the caller then reads its data with ReadDataAsync.</summary>
    public async Task<(SectionKind Kind, string Name)> NextAsync(CancellationToken cancellationToken)
    {
        if (!_started)
        {
            var magic = await ReadExactlyAsync(ExportArchive.Magic.Length, "the archive's first bytes", cancellationToken).ConfigureAwait(false);
            if (!magic.AsSpan().SequenceEqual(ExportArchive.Magic))
            {
                throw Damaged("it does not begin with CTDEXPORT: this is not a containerctl export archive");
            }
            _started = true;
        }
        var header = await ReadExactlyAsync(3, "a section's header", cancellationToken).ConfigureAwait(false);
        var kind = (SectionKind)header[0];
        if (!Enum.IsDefined(kind))
        {
            throw Damaged($"a section of unknown kind 0x{header[0]:x2} at byte {_offset - 3}");
        }
        int nameLength = BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(1));
        if (nameLength > 255)
        {
            throw Damaged($"a section name of {nameLength} bytes at byte {_offset}");
        }
        var name = await ReadExactlyAsync(nameLength, "a section's name", cancellationToken).ConfigureAwait(false);
        return (kind, Encoding.UTF8.GetString(name));
    }

    /// <summary>Hands the section's data on chunk by chunk, then checks its hash; at most maxBytes (else refused).</summary>
    public async Task ReadDataAsync(string what, long maxBytes, Func<ReadOnlyMemory<byte>, Task> consume, CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long total = 0;
        var buffer = new byte[ExportArchive.ChunkBytes];
        while (true)
        {
            var lengthBytes = await ReadExactlyAsync(4, what, cancellationToken).ConfigureAwait(false);
            uint length = BinaryPrimitives.ReadUInt32BigEndian(lengthBytes);
            if (length == 0)
            {
                break;
            }
            if (length > ExportArchive.ChunkBytes)
            {
                throw Damaged($"{what}: a chunk of {length} bytes at byte {_offset - 4}; chunks are at most {ExportArchive.ChunkBytes}");
            }
            total += length;
            if (total > maxBytes)
            {
                throw Damaged($"{what} is longer than {maxBytes} bytes");
            }
            await ReadExactlyAsync(buffer.AsMemory(0, (int)length), what, cancellationToken).ConfigureAwait(false);
            hash.AppendData(buffer, 0, (int)length);
            await consume(buffer.AsMemory(0, (int)length)).ConfigureAwait(false);
        }
        var expected = await ReadExactlyAsync(32, $"{what}'s checksum", cancellationToken).ConfigureAwait(false);
        if (!hash.GetHashAndReset().AsSpan().SequenceEqual(expected))
        {
            throw Damaged($"{what} is damaged: its SHA-256 does not match the archive's");
        }
    }

    /// <summary>A small section's data, whole and checked.</summary>
    public async Task<byte[]> ReadAllAsync(string what, int maxBytes, CancellationToken cancellationToken)
    {
        using var data = new MemoryStream();
        await ReadDataAsync(what, maxBytes, chunk =>
        {
            data.Write(chunk.Span);
            return Task.CompletedTask;
        }, cancellationToken).ConfigureAwait(false);
        return data.ToArray();
    }

    private async Task<byte[]> ReadExactlyAsync(int count, string what, CancellationToken cancellationToken)
    {
        var bytes = new byte[count];
        await ReadExactlyAsync(bytes, what, cancellationToken).ConfigureAwait(false);
        return bytes;
    }

    private async Task ReadExactlyAsync(Memory<byte> into, string what, CancellationToken cancellationToken)
    {
        int read = 0;
        while (read < into.Length)
        {
            int n = await input.ReadAsync(into[read..], cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                throw Damaged($"it ends in {what}, after {_offset + read} bytes: the archive is truncated");
            }
            read += n;
        }
        _offset += read;
    }

    private static ContainerDException Damaged(string why) => new(ErrorKind.InvalidArgs, $"the archive is refused: {why}; nothing was imported");
}
