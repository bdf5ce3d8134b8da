using System.Globalization;
using ContainerD.Testing;

namespace ContainerD.Benchmarks;

/// <summary>
/// Snapshots and archives: a snapshot of a root of many small files against cp -a of that root,
/// and export and import of a container against nix-store --export/--import and tar of the same
/// data by hand. The closure is the example system's (the store has it; import skips it, as the
/// hand-made import does with nix-store's own check).
/// </summary>
public sealed class ArchiveMeasurements(Bench bench, bool quick, List<Row> rows, List<string> notes)
{
    private int Repetitions => quick ? 2 : 7;
    private int Files => quick ? 1000 : 10_000;

    public async Task RunAsync()
    {
        const string name = "bench-archive";
        string rootfs = await bench.StoppedWithFilesAsync(name, Files);
        string scratch = Path.Combine(bench.Daemon.Dir, "archive-bench");
        Directory.CreateDirectory(scratch);

        Console.Error.WriteLine($"bench: snapshot of a root of {Files} files");
        int n = 0;
        var snapshot = await Timing.OfAsync(Repetitions, () => bench.JobAsync(c => c.SnapshotContainerAsync(name, $"s{n}")),
            after: () => bench.JobAsync(c => c.DeleteSnapshotAsync(name, $"s{n++}")));
        string copy = Path.Combine(scratch, "copy");
        var cp = await Timing.OfAsync(Repetitions, () => Programs.RunChecked("cp", "-a", "--reflink=auto", rootfs, copy),
            after: () => Programs.RunChecked("rm", "-rf", copy));
        rows.Add(new Row($"snapshot, a stopped root of {Files} small files", snapshot, [new("`cp -a --reflink=auto` of the rootfs, as root", cp)]));

        Console.Error.WriteLine("bench: export and import");
        string archive = Path.Combine(scratch, "bench.ctdx");
        string system = bench.System;
        var closure = (await Programs.RunChecked("nix-store", "--query", "--requisites", system)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var export = await Timing.OfAsync(Repetitions, async () =>
        {
            var result = await bench.Daemon.CliAsync("export", name, archive);
            if (result.ExitCode != 0)
            {
                throw new InvalidOperationException(result.ToString());
            }
        }, after: () => { File.Delete(archive); return Task.CompletedTask; });
        string nar = Path.Combine(scratch, "closure.nar"), tar = Path.Combine(scratch, "root.tar");
        var byHand = await Timing.OfAsync(Repetitions, async () =>
        {
            await StdoutIntoAsync(nar, "nix-store", ["--export", .. closure]);
            await Programs.RunChecked("tar", "--numeric-owner", "-cf", tar, "-C", rootfs, ".");
        }, after: () => { File.Delete(nar); File.Delete(tar); return Task.CompletedTask; });
        rows.Add(new Row("export to a file (closure and root)", export, [new("`nix-store --export` of the closure + `tar -c` of the root", byHand)]));

        var exported = await bench.Daemon.CliAsync("export", name, archive);
        if (exported.ExitCode != 0)
        {
            throw new InvalidOperationException(exported.ToString());
        }
        long bytes = new FileInfo(archive).Length;
        await StdoutIntoAsync(nar, "nix-store", ["--export", .. closure]);
        await Programs.RunChecked("tar", "--numeric-owner", "-cf", tar, "-C", rootfs, ".");
        int m = 0;
        var import = await Timing.OfAsync(Repetitions, async () =>
        {
            var result = await bench.Daemon.CliAsync("import", archive, "--name", $"bench-imp-{m}");
            if (result.ExitCode != 0)
            {
                throw new InvalidOperationException(result.ToString());
            }
        }, after: () => bench.JobAsync(c => c.DestroyContainerAsync($"bench-imp-{m++}")));
        string unpacked = Path.Combine(scratch, "unpacked");
        var importByHand = await Timing.OfAsync(Repetitions, async () =>
        {
            await StdinFromAsync(nar, "nix-store", ["--import"]);
            Directory.CreateDirectory(unpacked);
            await Programs.RunChecked("tar", "--numeric-owner", "-xpf", tar, "-C", unpacked);
        }, after: () => Programs.RunChecked("rm", "-rf", unpacked));
        rows.Add(new Row("import from a file (the store has the closure)", import, [new("`nix-store --import` + `tar -x`", importByHand)]));
        notes.Add(string.Format(CultureInfo.InvariantCulture,
            "The archive of the {0}-file container is {1:0.0} MB (its closure: {2} store paths, {3:0.0} MB as nix-store --export writes it; its root as a tar: {4:0.0} MB).",
            Files, bytes / 1e6, closure.Length, new FileInfo(nar).Length / 1e6, new FileInfo(tar).Length / 1e6));
        await bench.JobAsync(c => c.DestroyContainerAsync(name));
        Directory.Delete(scratch, recursive: true);
    }

    /// <summary>program's stdout into file, byte for byte (no shell).</summary>
    private static async Task StdoutIntoAsync(string file, string program, string[] args)
    {
        using var process = Start(program, args, stdin: false);
        await using (var output = File.Create(file))
        {
            await process.StandardOutput.BaseStream.CopyToAsync(output);
        }
        await CheckedExitAsync(process);
    }

    /// <summary>program reading file as its stdin (no shell).</summary>
    private static async Task StdinFromAsync(string file, string program, string[] args)
    {
        using var process = Start(program, args, stdin: true);
        var drain = process.StandardOutput.BaseStream.CopyToAsync(Stream.Null);
        await using (var input = File.OpenRead(file))
        {
            await input.CopyToAsync(process.StandardInput.BaseStream);
        }
        process.StandardInput.Close();
        await drain;
        await CheckedExitAsync(process);
    }

    /// <summary>program with args (no shell), its stdout a pipe, its stdin one too when asked.</summary>
    internal static System.Diagnostics.Process Start(string program, string[] args, bool stdin, IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new System.Diagnostics.ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardInput = stdin, UseShellExecute = false };
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }
        return System.Diagnostics.Process.Start(info)!;
    }

    private static async Task CheckedExitAsync(System.Diagnostics.Process process)
    {
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{process.StartInfo.FileName} exited with {process.ExitCode}");
        }
    }
}
