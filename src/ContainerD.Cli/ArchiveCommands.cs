using System.Runtime.InteropServices;
using ContainerD.Contract;
using Microsoft.Win32.SafeHandles;

namespace ContainerD.Cli;

/// <summary>
/// export and import: the archive goes through a file descriptor this process opened with the
/// user's own rights (a file, or stdin/stdout for -) and passed to the daemon, which never opens
/// a path for it. With -H the descriptor cannot cross ssh: the other host's containerctl runs
/// `export NAME -` / `import -` there, and the archive streams through ssh to or from the file
/// opened here (or this process's stdout or stdin).
/// </summary>
public static partial class ArchiveCommands
{
    public static async Task<int> ExportAsync(Target target, Arguments args)
    {
        string name = args.Positional("container name");
        string file = args.Positional("archive file (or - for stdout)");
        bool all = args.Flag("--all-generations");
        bool noBlock = args.Flag("--no-block");
        args.End();
        bool toStdout = file == "-";
        if (file.Length == 0)
        {
            throw args.Usage("the archive file name is empty: give a file name, or - for stdout");
        }
        if (Directory.Exists(file))
        {
            throw new CliException(ExitCodes.InvalidInput, $"{file} is a directory: give the archive a file name (in it, if you like)");
        }
        if (toStdout && !Console.IsOutputRedirected)
        {
            throw args.Usage("the archive is binary: redirect stdout to a file or a pipe, or give a file name");
        }
        SafeFileHandle archive;
        try
        {
            // 0600: the archive holds the container's files, its secrets too.
            archive = toStdout ? Duplicate(1) : File.OpenHandle(file, FileMode.CreateNew, FileAccess.Write);
            if (!toStdout)
            {
                File.SetUnixFileMode(archive, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
        }
        catch (IOException e) when (File.Exists(file))
        {
            throw new CliException(ExitCodes.Conflict, $"{file} exists already; remove it or pick another name ({e.Message})");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException(ExitCodes.InvalidInput, $"cannot create {file}: {e.Message}");
        }
        int result = ExitCodes.Failed;
        try
        {
            if (target.Remote is not null)
            {
                List<string> remote = ["export", name, "-", .. all ? ["--all-generations"] : Array.Empty<string>(), .. noBlock ? ["--no-block"] : Array.Empty<string>()];
                await using var local = new FileStream(archive, FileAccess.Write, bufferSize: 1 << 16);
                result = await RemoteCli.RunAsync(target, terminal: false, remote, output: local);
            }
            else
            {
                using var client = await target.ConnectAsync();
                result = await Commands.RunJobAsync(client, noBlock, $"export {name}", $"exported to {(toStdout ? "stdout" : file)}",
                    c => c.ExportContainerAsync(name, archive, allGenerations: all), toStderr: toStdout,
                    ifGone: Commands.StaysFrozen(name));
            }
        }
        finally
        {
            if (result != ExitCodes.Ok && !toStdout && !noBlock)
            {
                // Ours, and half written (or empty: the daemon was not reached): a file that is not an archive must not look like one.
                File.Delete(file);
            }
        }
        return result;
    }

    public static async Task<int> ImportAsync(Target target, Arguments args)
    {
        string source = args.Positional("archive file (or - for stdin)");
        string newName = args.Option("--name") ?? "";
        bool noBlock = args.Flag("--no-block");
        args.End();
        SafeFileHandle archive;
        try
        {
            archive = source == "-" ? Duplicate(0) : File.OpenHandle(source, FileMode.Open, FileAccess.Read);
        }
        catch (UnauthorizedAccessException) when (Directory.Exists(source))
        {
            throw new CliException(ExitCodes.InvalidInput, $"{source} is a directory, not an archive");
        }
        catch (UnauthorizedAccessException e)
        {
            throw new CliException(ExitCodes.Denied, $"cannot open {source}: {e.Message}");
        }
        catch (IOException e)
        {
            throw new CliException(ExitCodes.NotFound, $"cannot open {source}: {e.Message}");
        }
        if (target.Remote is not null)
        {
            List<string> remote = ["import", "-", .. newName.Length > 0 ? ["--name", newName] : Array.Empty<string>(), .. noBlock ? ["--no-block"] : Array.Empty<string>()];
            await using var local = new FileStream(archive, FileAccess.Read, bufferSize: 1 << 16);
            return await RemoteCli.RunAsync(target, terminal: false, remote, input: local);
        }
        using var client = await target.ConnectAsync();
        return await Commands.RunJobAsync(client, noBlock, $"import {(newName.Length > 0 ? newName : source)}", "imported",
            c => c.ImportContainerAsync(archive, newName));
    }

    /// <summary>A descriptor of our own for stdin or stdout: the call's message closes what it sends.</summary>
    private static SafeFileHandle Duplicate(int fd)
    {
        int copy = dup(fd);
        return copy >= 0 ? new SafeFileHandle(copy, ownsHandle: true)
            : throw new CliException(ExitCodes.Failed, $"cannot duplicate file descriptor {fd}: errno {Marshal.GetLastPInvokeError()}");
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int dup(int fd);
}
