using System.Globalization;
using ContainerD.Domain;
using ContainerD.Domain.IdMapping;
using ContainerD.Os.Processes;

namespace ContainerD.Os.Filesystem;

/// <summary>
/// Tools that walk a container's files, run with the rights of the container's root and no more:
/// in a user namespace that maps its ids (lxc-usernsexec), never as host root. Its files keep
/// their owners; a symlink or a race inside can reach only what the container's root could (host
/// root's files are "nobody" there), so the daemon never follows a container's path with its own rights.
/// </summary>
public sealed class AsContainerRoot(ICommandRunner? runner = null)
{
    private readonly ICommandRunner _run = runner ?? ProcessRunner.Instance;

    /// <summary>What source holds, copied into target (which exists, owned by the container's root): reflinked where the file system can, else copied; owners, modes, links, holes kept.</summary>
    public async Task CopyTreeAsync(IdRange ids, string source, string target, CancellationToken cancellationToken)
    {
        var output = await _run.RunAsync("lxc-usernsexec", [.. Map(ids), "--", "cp", "-a", "--reflink=auto", "--", source + "/.", target],
            cancellationToken: cancellationToken).ConfigureAwait(false);
        if (!output.Succeeded)
        {
            throw new ContainerDException(ErrorKind.Failed, $"copying {source} to {target} as the container's root failed: {output.StderrTail(3)}");
        }
    }

    /// <summary>The tree as a tar on stdout, its owners as the container sees them (0 for its root): what an export carries.</summary>
    public static Task TarCreateAsync(IdRange ids, string source, Func<Stream, Task> readTar, CancellationToken cancellationToken) =>
        StreamingCommand.RunAsync("lxc-usernsexec", [.. Map(ids), "--", "tar", "--numeric-owner", "--one-file-system", "-cf", "-", "-C", source, "."],
            $"archiving {source} as the container's root", ErrorKind.Failed, writeStdin: null, readTar, cancellationToken);

    /// <summary>A tar from stdin unpacked into target (the container root's), its owners shifted into this container's ids.</summary>
    public static Task TarExtractAsync(IdRange ids, string target, Func<Stream, Task> writeTar, CancellationToken cancellationToken) =>
        StreamingCommand.RunAsync("lxc-usernsexec", [.. Map(ids), "--", "tar", "--numeric-owner", "-xpf", "-", "-C", target],
            $"unpacking the root into {target} as the container's root", ErrorKind.InvalidArgs, writeTar, readStdout: null, cancellationToken);

    private static string[] Map(IdRange ids) =>
        ["-m", $"b:0:{ids.Start.ToString(CultureInfo.InvariantCulture)}:{ids.Count.ToString(CultureInfo.InvariantCulture)}"];
}
