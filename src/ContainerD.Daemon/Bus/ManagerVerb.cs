using System.Text;
using ContainerD.Contract;
using ContainerD.Daemon.Containers;
using ContainerD.Daemon.Jobs;
using ContainerD.Domain;
using Microsoft.Win32.SafeHandles;
using Tmds.DBus.Protocol;

namespace ContainerD.Daemon.Bus;

/// <summary>
/// A verb the Manager begins as a job. Its operation implements this: which methods call it and
/// how each call's arguments are read, so the Manager routes a new verb without a row of its own.
/// </summary>
public interface IManagerVerb
{
    /// <summary>The Manager's methods that begin this verb (Wire.Manager.*).</summary>
    IReadOnlyList<string> Members { get; }

    /// <summary>
    /// Reads (and bounds) the call's arguments, before the caller is checked; what it returns begins
    /// the job once the caller is known to be an administrator. Handles read here are the
    /// operation's once the job begins; until then the Manager disposes them when the call fails.
    /// </summary>
    Func<Caller, ValueTask<Job>> Bind(ref CallArguments call);
}

/// <summary>
/// A method call's arguments, read in order with their sizes checked on the bytes before anything
/// is decoded: a name over its limit is refused without being echoed, a definition over 1 MiB
/// without being parsed.
/// </summary>
public ref struct CallArguments(string member, Reader reader)
{
    private Reader _reader = reader;
    private List<SafeFileHandle>? _handles;

    /// <summary>The method called (a verb may be called by more than one).</summary>
    public string Member { get; } = member;

    /// <summary>The file descriptors read so far, for the Manager to close when the call fails.</summary>
    public readonly IReadOnlyList<SafeFileHandle> Handles => _handles ?? [];

    /// <summary>A container name: at most 31 bytes, checked on the bytes; a longer one is InvalidName without being echoed.</summary>
    public string Name() => ContainerName.Require(BoundedName());

    /// <summary>A container name, or empty for "the one the caller's input names" (an archive's).</summary>
    public string NameOrEmpty()
    {
        string name = BoundedName();
        return name.Length == 0 ? name : ContainerName.Require(name);
    }

    /// <summary>A snapshot name (empty: named by the time): at most 63 bytes, checked on the bytes, then by SnapshotName.</summary>
    public string SnapshotName()
    {
        string name = Bounded(Domain.SnapshotName.MaxLength, length => new ContainerDException(ErrorKind.InvalidName,
            $"invalid name: a snapshot name is at most {Domain.SnapshotName.MaxLength} bytes, this one is {length}"));
        return name.Length == 0 ? name : Domain.SnapshotName.Require(name);
    }

    /// <summary>A definition: at most 1 MiB, checked before it is decoded or parsed.</summary>
    public string Definition() => Bounded(BusText.MaxDefinitionBytes, length => new ContainerDException(ErrorKind.InvalidDefinition,
        $"the definition is {length} bytes long; the limit is {BusText.MaxDefinitionBytes} bytes (1 MiB)"));

    /// <summary>A short word (a selector): at most maxBytes, else InvalidArgs.</summary>
    public string Word(string what, int maxBytes = 64) =>
        Bounded(maxBytes, length => new ContainerDException(ErrorKind.InvalidArgs, $"{what} is {length} bytes long; the limit is {maxBytes}"));

    public bool Bool() => _reader.ReadBool();

    public uint UInt32() => _reader.ReadUInt32();

    /// <summary>A file descriptor that came with the call; none is InvalidArgs.</summary>
    public SafeFileHandle Handle()
    {
        var handle = _reader.ReadHandle<SafeFileHandle>() ?? throw new ContainerDException(ErrorKind.InvalidArgs, "no file descriptor came with the call");
        (_handles ??= []).Add(handle);
        return handle;
    }

    /// <summary>a{sv} of booleans, each key one of known: anything else is InvalidArgs naming it (a typo must not pass for a default).</summary>
    public Dictionary<string, bool> Options(IReadOnlyList<string> known)
    {
        var options = new Dictionary<string, bool>(StringComparer.Ordinal);
        ArrayEnd end = _reader.ReadDictionaryStart();
        while (_reader.HasNext(end))
        {
            _reader.AlignStruct();
            string key = Word("an option's name");
            var value = _reader.ReadVariantValue();
            if (!known.Contains(key))
            {
                throw new ContainerDException(ErrorKind.InvalidArgs, $"unknown option '{key}'; the options are {string.Join(", ", known)}");
            }
            if (value.Type != VariantValueType.Bool)
            {
                throw new ContainerDException(ErrorKind.InvalidArgs, $"option {key} takes a boolean (b)");
            }
            options[key] = value.GetBool();
        }
        return options;
    }

    private string BoundedName() => Bounded(Limits.NameBytes, length => new ContainerDException(ErrorKind.InvalidName,
        $"invalid name: a container name is at most {Limits.NameBytes} bytes, this one is {length}"));

    /// <summary>The next string, decoded only when its bytes are within limit; tooLong names what is wrong from its length.</summary>
    private string Bounded(int limit, Func<int, ContainerDException> tooLong)
    {
        var bytes = _reader.ReadStringAsSpan();
        return bytes.Length <= limit ? Encoding.UTF8.GetString(bytes) : throw tooLong(bytes.Length);
    }
}
