using System.Diagnostics;
using System.Globalization;
using ContainerD.Contract;

namespace ContainerD.Cli;

/// <summary>
/// Push deployment, as nix-copy-closure does it: with -H, create and update build the system on this
/// machine and copy to the host only the store paths of its closure the host lacks, then hand the
/// host's daemon the store path as a prebuilt system. Progress goes to stdout with the job's log.
/// The build here runs as the user running containerctl, on this machine's Nix; the copy needs an
/// ssh user who may add to the host's store (root, or a trusted user of its nix-daemon).
/// </summary>
public static class Push
{
    /// <summary>The system built here (or the prebuilt path as it is) with its closure copied to the host; returns the store path.</summary>
    public static async Task<SystemChoice> BuildAndCopyAsync(SshRoute to, SystemChoice system, string what)
    {
        string dir = Directory.CreateTempSubdirectory("containerctl-push-").FullName;
        using var progress = new JobProgress($"push to {to.Host}", live: !Console.IsOutputRedirected, Console.Out);
        void Say(string line) => progress.Line("push: " + line);
        try
        {
            // The build's out-link roots the system here until the copy is done.
            string outLink = Path.Combine(dir, "result");
            string path;
            if (system.StorePath is { } prebuilt)
            {
                if ((await RunAsync("nix-store", ["--check-validity", prebuilt], null)).ExitCode != 0)
                {
                    Say($"{prebuilt} is not in this machine's store: {to.Host}'s daemon takes it from its own store or its binary caches");
                    return system;
                }
                path = prebuilt;
            }
            else if (system.Nix is { } file)
            {
                List<string> args = [file, "--out-link", outLink];
                if (system.Attr is not null)
                {
                    args.AddRange(["-A", system.Attr]);
                }
                foreach (var (key, value) in system.NixArgs)
                {
                    args.AddRange(["--argstr", key, value]);
                }
                path = await BuildAsync("nix-build", args, outLink, what, progress);
            }
            else
            {
                path = await BuildAsync("nix", ["--extra-experimental-features", "nix-command flakes", "build", "--print-build-logs",
                    "--no-write-lock-file", "--out-link", outLink, FlakeInstallable(system.Flake!)], outLink, what, progress);
            }
            await CopyAsync(to, path, what, progress);
            return SystemChoice.Prebuilt(path);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>
    /// PATH#NAME as the daemon builds it: NAME is nixosConfigurations.NAME.config.system.build.toplevel,
    /// a fragment with a dot is the attribute itself (ContainerD.Domain's DefinitionParser; a test holds the two together).
    /// </summary>
    public static string FlakeInstallable(string flake)
    {
        int hash = flake.IndexOf('#', StringComparison.Ordinal);
        if (hash < 0)
        {
            return flake;
        }
        string fragment = flake[(hash + 1)..];
        return fragment.Contains('.', StringComparison.Ordinal) ? flake : $"{flake[..hash]}#nixosConfigurations.{fragment}.config.system.build.toplevel";
    }

    private static async Task<string> BuildAsync(string program, List<string> args, string outLink, string what, JobProgress progress)
    {
        progress.Line($"push: building the system here: {program} {string.Join(' ', args.Select(a => a.Contains(' ', StringComparison.Ordinal) ? $"'{a}'" : a))}");
        var (exit, tail) = await RunAsync(program, args, progress);
        if (exit != 0)
        {
            throw new CliException(ExitCodes.Failed, $"{what}: building the system here failed ({program} exit {exit}): {tail}");
        }
        return new FileInfo(outLink).LinkTarget ?? throw new CliException(ExitCodes.Failed, $"{what}: {program} made no {outLink}");
    }

    /// <summary>nix-copy-closure --to HOST PATH: only what the host lacks travels; counts what did.</summary>
    internal static async Task CopyAsync(SshRoute to, string path, string what, JobProgress progress)
    {
        var closure = (await RunCaptureAsync("nix-store", ["--query", "--requisites", path])).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        string sshOptions;
        try
        {
            sshOptions = to.Host.NixSshOptions(to.ConfigFile);
        }
        catch (FormatException e)
        {
            throw new CliException(ExitCodes.InvalidInput, $"{what}: {e.Message}");
        }
        progress.Line($"push: copying the closure of {path} ({closure.Length} paths) to {to.Host}: nix-copy-closure --to {to.Host.NixDestination}");
        int copied = 0;
        var (exit, tail) = await RunAsync("nix-copy-closure", ["--to", to.Host.NixDestination, path], progress,
            environment: new Dictionary<string, string> { ["NIX_SSHOPTS"] = sshOptions },
            onLine: line => copied += line.StartsWith("copying path ", StringComparison.Ordinal) ? 1 : 0);
        if (exit != 0)
        {
            throw new CliException(tail.Contains("cannot connect to", StringComparison.Ordinal) ? ExitCodes.Unreachable : ExitCodes.Failed,
                $"{what}: copying {path} to {to.Host} failed (nix-copy-closure exit {exit}): {tail}");
        }
        progress.Line($"push: {copied.ToString(CultureInfo.InvariantCulture)} of {closure.Length.ToString(CultureInfo.InvariantCulture)} paths copied to {to.Host}, "
            + $"{(closure.Length - copied).ToString(CultureInfo.InvariantCulture)} there already");
    }

    /// <summary>Runs a program, its lines shown as they come (unless progress is null); the exit code and the last lines.</summary>
    private static async Task<(int ExitCode, string Tail)> RunAsync(string program, IReadOnlyList<string> args, JobProgress? progress,
        IReadOnlyDictionary<string, string>? environment = null, Action<string>? onLine = null)
    {
        var startInfo = new ProcessStartInfo(program) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (string arg in args)
        {
            startInfo.ArgumentList.Add(arg);
        }
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            startInfo.Environment[key] = value;
        }
        var last = new Queue<string>();
        void OnLine(string? line)
        {
            if (line is null)
            {
                return;
            }
            lock (last)
            {
                onLine?.Invoke(line);
                progress?.Line(line);
                last.Enqueue(line.Trim());
                if (last.Count > 4)
                {
                    last.Dequeue();
                }
            }
        }
        using var process = new Process { StartInfo = startInfo };
        process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        process.OutputDataReceived += (_, e) => OnLine(e.Data);
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new CliException(ExitCodes.Failed, $"cannot run {program} to push the system: {e.Message} (install Nix here, or give --build-on remote)");
        }
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        await process.WaitForExitAsync();
        lock (last)
        {
            return (process.ExitCode, string.Join("; ", last.Where(l => l.Length > 0)));
        }
    }

    private static async Task<string> RunCaptureAsync(string program, IReadOnlyList<string> args)
    {
        var startInfo = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string arg in args)
        {
            startInfo.ArgumentList.Add(arg);
        }
        using var process = Process.Start(startInfo)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        string stderr = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return process.ExitCode == 0 ? await stdout
            : throw new CliException(ExitCodes.Failed, $"{program} {string.Join(' ', args)} failed (exit {process.ExitCode}): {stderr.Trim()}");
    }
}
