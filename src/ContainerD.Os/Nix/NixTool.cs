using System.Globalization;
using System.Text.RegularExpressions;
using ContainerD.Domain;
using ContainerD.Domain.Configuration;
using ContainerD.Domain.Definitions;
using ContainerD.Os.Processes;

namespace ContainerD.Os.Nix;

/// <summary>Who a confined evaluation reads the Nix file as, and the private dir its copy goes to.</summary>
public sealed record NixConfinement(uint Uid, string WorkDir);

/// <summary>One generation of a profile: profile-N-link → a store path.</summary>
public sealed record ProfileGeneration(int Number, DateTimeOffset CreatedAt, string StorePath, bool Current);

/// <summary>
/// Builds container systems and keeps them as Nix profiles with generations, the way
/// nixos-container does: profiles under per-container/NAME/system are GC roots.
/// </summary>
public sealed partial class NixTool(string storeDir = "/nix/store", ICommandRunner? runner = null, BinaryCaches? caches = null,
    StoreServers? servers = null, string autoRoots = GcRoots.AutoDir)
{
    private readonly ICommandRunner _run = runner ?? ProcessRunner.Instance;
    private readonly BinaryCaches _caches = caches ?? BinaryCaches.None;
    private readonly StoreServers _servers = servers ?? new StoreServers();
    private readonly string _autoRoots = autoRoots;
    public const string ProfileName = "system";

    /// <summary>Whether a system path the store lacks can be fetched (the config names binary caches).</summary>
    public bool CanSubstitute => _caches.Any;

    /// <summary>
    /// nix-build the definition's expression; build log lines go to onLog. Returns the output path.
    /// outLink is a GC root that keeps the output alive until the profile holds it: without it a
    /// garbage collection between the build and the profile's new generation could delete the new system.
    /// </summary>
    /// <param name="confined">
    /// For a caller other than root: the file is read with that user's rights into workDir and
    /// evaluated from there in restricted mode, where it may read the store (and the daemon's own
    /// NIX_PATH) and nothing else of the host — so `builtins.readFile /etc/shadow` is refused.
    /// </param>
    public async Task<string> BuildAsync(NixExpressionSystem nix, string outLink, Action<string> onLog, CancellationToken cancellationToken,
        NixConfinement? confined = null)
    {
        if (confined is not null)
        {
            byte[] text = await Confinement.ReadAsUserAsync(confined.Uid, nix.File, MaxConfinedFile, cancellationToken).ConfigureAwait(false);
            Directory.CreateDirectory(confined.WorkDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            string copy = Path.Combine(confined.WorkDir, "default.nix");
            await File.WriteAllBytesAsync(copy, text, cancellationToken).ConfigureAwait(false);
            try
            {
                onLog($"evaluating {nix.File} as read by uid {confined.Uid}, in restricted mode: it may read {storeDir} and nothing else of the host");
                return await BuildCoreAsync(nix with { File = copy }, outLink, onLog,
                    ["--option", "restrict-eval", "true", "-I", confined.WorkDir, "-I", storeDir], nix.File, cancellationToken).ConfigureAwait(false);
            }
            catch (ContainerDException e) when (e.Kind == ErrorKind.BuildFailed)
            {
                throw new ContainerDException(ErrorKind.BuildFailed, e.Message
                    + $" (a Nix file from a caller other than root is evaluated alone, from a copy, in restricted mode: it may read {storeDir} but not the host's files, nor files beside it)");
            }
            finally
            {
                Directory.Delete(confined.WorkDir, recursive: true);
            }
        }
        return await BuildCoreAsync(nix, outLink, onLog, [], nix.File, cancellationToken).ConfigureAwait(false);
    }

    private const int MaxConfinedFile = 1 << 20;

    private async Task<string> BuildCoreAsync(NixExpressionSystem nix, string outLink, Action<string> onLog, IReadOnlyList<string> options,
        string shownFile, CancellationToken cancellationToken)
    {
        List<string> args = [nix.File, .. options, "--out-link", outLink];
        if (nix.Attr is not null)
        {
            args.AddRange(["-A", nix.Attr]);
        }
        foreach (var (key, value) in nix.Args)
        {
            args.AddRange(["--argstr", key, value]);
        }
        onLog($"nix-build {string.Join(' ', args)}");
        var output = await _run.RunAsync("nix-build", args, onLog, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (!output.Succeeded)
        {
            throw new ContainerDException(ErrorKind.BuildFailed,
                $"nix-build {shownFile} failed (exit {output.ExitCode}): {output.StderrTail(8)}");
        }
        string outPath = output.StdoutText.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? "";
        return CheckSystem(outPath);
    }

    /// <summary>
    /// nix build of a flake's system with the flakes feature of the host's Nix (2.8 calls it
    /// experimental); logs go to onLog, outLink is the GC root as for nix-build. The lock file is
    /// not written: the flake is the user's directory, the daemon only reads it.
    /// </summary>
    public async Task<string> BuildFlakeAsync(FlakeSystem flake, string outLink, Action<string> onLog, CancellationToken cancellationToken)
    {
        List<string> args = ["--extra-experimental-features", "nix-command flakes", "build", "--print-build-logs",
            "--no-write-lock-file", "--out-link", outLink, flake.Reference];
        onLog($"nix {string.Join(' ', args.Select(a => a.Contains(' ', StringComparison.Ordinal) ? $"'{a}'" : a))}");
        var output = await _run.RunAsync("nix", args, onLog, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (!output.Succeeded)
        {
            throw new ContainerDException(ErrorKind.BuildFailed,
                $"nix build {flake.Reference} failed (exit {output.ExitCode}): {output.StderrTail(8)}");
        }
        string outPath = new FileInfo(outLink).LinkTarget
            ?? throw new ContainerDException(ErrorKind.BuildFailed, $"nix build {flake.Reference} made no {outLink}");
        return CheckSystem(outPath);
    }

    /// <summary>
    /// A system must be a path in the store with an executable ./init. Whether Nix knows the path (it
    /// is valid), the profile asks Nix when it takes it (SetProfileAsync), in the same question that
    /// holds it against the collector.
    /// </summary>
    public string CheckSystem(string storePath)
    {
        if (!storePath.StartsWith(storeDir + "/", StringComparison.Ordinal))
        {
            throw new ContainerDException(ErrorKind.BuildFailed, $"'{storePath}' is not a path in {storeDir}");
        }
        if (!File.Exists(Path.Combine(storePath, "init")))
        {
            throw new ContainerDException(ErrorKind.InvalidDefinition,
                $"system path {storePath} has no ./init to boot: a container system must provide one");
        }
        return storePath;
    }

    /// <summary>Keeps storePath alive against garbage collection while link exists (an indirect root, as nix-build's out-link).</summary>
    public async Task AddRootAsync(string storePath, string link, CancellationToken cancellationToken)
    {
        var output = await _run.RunAsync("nix-store", ["--realise", storePath, "--add-root", link, "--indirect"],
            cancellationToken: cancellationToken).ConfigureAwait(false);
        if (!output.Succeeded)
        {
            throw new ContainerDException(ErrorKind.Failed, $"cannot keep {storePath} from garbage collection: {output.StderrTail(3)}");
        }
    }

    /// <summary>Every store path the given ones need (nix-store --query --requisites), each once.</summary>
    public async Task<IReadOnlyList<string>> ClosureAsync(IReadOnlyList<string> storePaths, CancellationToken cancellationToken)
    {
        var output = await _run.RunAsync("nix-store", ["--query", "--requisites", .. storePaths], cancellationToken: cancellationToken,
            limits: new CommandLimits(64 << 20, 1 << 20, 4096)).ConfigureAwait(false);
        if (!output.Succeeded)
        {
            throw new ContainerDException(ErrorKind.Failed, $"cannot list the closure of {string.Join(' ', storePaths)}: {output.StderrTail(3)}");
        }
        return output.StdoutText.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    /// <summary>Those of the paths this store does not hold (nix-store --check-validity --print-invalid, one call).</summary>
    public async Task<IReadOnlyList<string>> MissingAsync(IReadOnlyList<string> storePaths, CancellationToken cancellationToken)
    {
        if (storePaths.Count == 0)
        {
            return [];
        }
        var output = await _run.RunAsync("nix-store", ["--check-validity", "--print-invalid", .. storePaths], cancellationToken: cancellationToken,
            limits: new CommandLimits(64 << 20, 1 << 20, 4096)).ConfigureAwait(false);
        if (!output.Succeeded)
        {
            throw new ContainerDException(ErrorKind.InvalidArgs, $"cannot check which store paths are here: {output.StderrTail(3)}");
        }
        return output.StdoutText.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    /// <summary>nix-store --export of the paths (a closure, in order) onto readExport.</summary>
    public static Task ExportAsync(IReadOnlyList<string> storePaths, Func<Stream, Task> readExport, CancellationToken cancellationToken) =>
        StreamingCommand.RunAsync("nix-store", ["--export", .. storePaths], "nix-store --export", ErrorKind.Failed, writeStdin: null, readExport, cancellationToken);

    /// <summary>nix-store --import of what writeExport writes (root only: the paths are trusted as they come).</summary>
    public static Task ImportAsync(Func<Stream, Task> writeExport, CancellationToken cancellationToken) =>
        StreamingCommand.RunAsync("nix-store", ["--import"], "nix-store --import", ErrorKind.InvalidArgs, writeExport, readStdout: null, cancellationToken);

    /// <summary>
    /// A prebuilt system (system.path), pulled when the store lacks it: realised from the configured
    /// binary caches with every signature checked — require-sigs on whatever nix.conf says, only the
    /// configured substituters and keys — its progress in onLog, outLink rooting it until the profile
    /// holds it. A path no cache has, or one only an unsigned (or foreign-signed) copy of, fails with
    /// a message that names the path and says which. Then checked as any system.
    /// </summary>
    public async Task<string> RealiseSystemAsync(string storePath, string outLink, Action<string> onLog, CancellationToken cancellationToken)
    {
        if (!storePath.StartsWith(storeDir + "/", StringComparison.Ordinal) || !_caches.Any)
        {
            // Nothing to fetch from: whether Nix knows the path, the profile asks Nix when it takes it (SetProfileAsync).
            return CheckSystem(storePath);
        }
        var valid = await _run.RunAsync("nix-store", ["--check-validity", storePath], cancellationToken: cancellationToken).ConfigureAwait(false);
        if (valid.Succeeded)
        {
            return CheckSystem(storePath);
        }
        string substituters = string.Join(' ', _caches.Substituters);
        onLog($"{storePath} is not in the store: fetching it and what it needs from {substituters}, signed by one of {string.Join(' ', _caches.TrustedPublicKeys.Select(KeyName))}");
        List<string> args =
        [
            "--realise", storePath, "--add-root", outLink,
            "--option", "substitute", "true",
            "--option", "substituters", substituters,
            "--option", "trusted-public-keys", string.Join(' ', _caches.TrustedPublicKeys),
            "--option", "require-sigs", "true",
        ];
        var output = await _run.RunAsync("nix-store", args, onLog, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (!output.Succeeded)
        {
            throw new ContainerDException(ErrorKind.InvalidDefinition, RealiseFailure(storePath, substituters, output.Stderr, output));
        }
        return CheckSystem(storePath);
    }

    /// <summary>Which of the ways a fetch fails it was, from what nix-store said, naming the paths.</summary>
    private static string RealiseFailure(string storePath, string substituters, string stderr, CommandOutput output)
    {
        var unsigned = UnsignedPattern().Matches(stderr).Select(m => $"{m.Groups[1].Value} (from {m.Groups[2].Value})").Distinct().ToList();
        if (unsigned.Count > 0)
        {
            return $"system path {storePath} cannot be fetched: {string.Join(", ", unsigned)} {(unsigned.Count == 1 ? "is" : "are")} not signed by any of the trustedPublicKeys; "
                + "sign it with the cache's key (nix store sign, or nix copy --to 'file://…?secret-key=…') or add the key that signed it";
        }
        int missingAt = stderr.IndexOf("don't know how to build these paths:", StringComparison.Ordinal);
        if (missingAt >= 0)
        {
            var missing = stderr[missingAt..].Split('\n').Skip(1).TakeWhile(l => l.StartsWith("  ", StringComparison.Ordinal)).Select(l => l.Trim()).ToList();
            return $"system path {storePath} cannot be fetched: no substituter ({substituters}) has {string.Join(", ", missing.DefaultIfEmpty(storePath))}; "
                + "copy it there (nix copy --to …) or build the system";
        }
        return $"system path {storePath} cannot be fetched from {substituters} (nix-store exit {output.ExitCode}): {output.StderrTail(4)}";
    }

    private static string KeyName(string key) => key[..key.IndexOf(':', StringComparison.Ordinal)];

    // Nix 2.8: "warning: the substitute for '/nix/store/…' from 'file:///…' is not signed by any of the keys in 'trusted-public-keys'"
    [GeneratedRegex(@"the substitute for '([^']+)' from '([^']+)' is not signed by any of the keys", RegexOptions.CultureInvariant)]
    private static partial Regex UnsignedPattern();

    /// <summary>
    /// What nix-env -p PROFILEDIR/system --set STOREPATH does, in Nix's own profile format, without
    /// starting a Nix process for it (~17 ms, the most of a create): Nix says the path is valid and
    /// holds it against the garbage collector (StoreServers, its serve protocol), then the
    /// generation's links are written as libstore's createGeneration and switchLink write them.
    /// Returns the generation's number: a new one, or the last one when it has this path already
    /// (nix-env's rule too).
    /// </summary>
    public async Task<int> SetProfileAsync(string profileDir, string storePath, CancellationToken cancellationToken)
    {
        // 0755 set explicitly, never through the umask (the unit's is 0077): the container's root
        // must read the profile, the dir it sees as /nix/var/nix/profiles.
        const UnixFileMode dir755 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;
        string parent = Path.GetDirectoryName(Path.GetFullPath(profileDir))!;
        if (!Directory.Exists(parent))
        {
            Directory.CreateDirectory(parent);
            File.SetUnixFileMode(parent, dir755);
        }
        Directory.CreateDirectory(profileDir);
        File.SetUnixFileMode(profileDir, dir755);
        await using var held = await _servers.HoldValidAsync([storePath], cancellationToken).ConfigureAwait(false);
        if (!held.Valid.Contains(storePath))
        {
            throw new ContainerDException(ErrorKind.InvalidDefinition,
                $"system path {storePath} is not a valid path in the Nix store: build it or copy it there first");
        }
        try
        {
            return ProfileLinks.Set(Path.GetFullPath(profileDir), ProfileName, storePath, _autoRoots);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ContainerDException(ErrorKind.Failed, $"cannot write generation of {storePath} into profile {Path.Combine(profileDir, ProfileName)}: {e.Message}");
        }
    }

    /// <summary>Makes generation N current again (rollback).</summary>
    public async Task SwitchGenerationAsync(string profileDir, int generation, CancellationToken cancellationToken)
    {
        var output = await _run.RunAsync("nix-env",
            ["-p", Path.Combine(profileDir, ProfileName), "--switch-generation", generation.ToString(CultureInfo.InvariantCulture)],
            cancellationToken: cancellationToken).ConfigureAwait(false);
        if (!output.Succeeded)
        {
            throw new ContainerDException(ErrorKind.NoSuchGeneration, $"cannot switch to generation {generation}: {output.StderrTail(3)}");
        }
    }

    /// <summary>nix-env --delete-generations: never deletes the current one; their closures become garbage.</summary>
    public async Task DeleteGenerationsAsync(string profileDir, string which, CancellationToken cancellationToken)
    {
        var output = await _run.RunAsync("nix-env", ["-p", Path.Combine(profileDir, ProfileName), "--delete-generations", which],
            cancellationToken: cancellationToken).ConfigureAwait(false);
        if (!output.Succeeded)
        {
            throw new ContainerDException(ErrorKind.Failed, $"nix-env --delete-generations {which} failed: {output.StderrTail(3)}");
        }
    }

    /// <summary>The generation the profile link points at, or null when there is none.</summary>
    public static int? CurrentGeneration(string profileDir)
    {
        var link = new FileInfo(Path.Combine(profileDir, ProfileName));
        return link.LinkTarget is { } target ? ParseGeneration(Path.GetFileName(target)) : null;
    }

    public static IReadOnlyList<ProfileGeneration> ListGenerations(string profileDir)
    {
        if (!Directory.Exists(profileDir))
        {
            return [];
        }
        int? current = CurrentGeneration(profileDir);
        return Directory.EnumerateFileSystemEntries(profileDir, ProfileName + "-*-link")
            .Select(path => (path, number: ParseGeneration(Path.GetFileName(path))))
            .Where(g => g.number is not null)
            .Select(g =>
            {
                var info = new FileInfo(g.path);
                return new ProfileGeneration(g.number!.Value, new DateTimeOffset(info.LastWriteTimeUtc), info.LinkTarget ?? "", g.number == current);
            })
            .OrderBy(g => g.Number)
            .ToList();
    }

    /// <summary>The store path the profile points at now, or null.</summary>
    public static string? CurrentSystem(string profileDir) =>
        ListGenerations(profileDir).FirstOrDefault(g => g.Current)?.StorePath;

    private static int? ParseGeneration(string linkName)
    {
        // system-12-link
        string prefix = ProfileName + "-", suffix = "-link";
        if (!linkName.StartsWith(prefix, StringComparison.Ordinal) || !linkName.EndsWith(suffix, StringComparison.Ordinal))
        {
            return null;
        }
        var number = linkName.AsSpan(prefix.Length, linkName.Length - prefix.Length - suffix.Length);
        return int.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out int n) ? n : null;
    }
}
