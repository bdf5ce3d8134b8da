using System.Globalization;
using System.Text.RegularExpressions;
using ContainerD.Testing;

namespace ContainerD.Benchmarks;

/// <summary>
/// copy to a second host that has the container's closure already: time and bytes sent over ssh
/// against `tar -c | ssh HOST tar -x` of the same root. Bytes are ssh's own count ("Transferred:
/// sent N", at LogLevel VERBOSE) summed over every connection a run opens: for copy, nix-copy-closure's
/// query of what the host lacks and the D-Bus session that carries the export stream.
/// </summary>
public sealed partial class CopyMeasurements(Bench bench, SecondHost host, int repetitions, int files, List<Row> rows, List<string> notes)
{
    public async Task RunAsync()
    {
        const string name = "bench-copy";
        string rootfs = await bench.StoppedWithFilesAsync(name, files);

        // ssh as the CLI and nix-copy-closure find it on PATH, counting what each connection sends.
        string bin = Path.Combine(host.Dir, "counting-ssh");
        string log = Path.Combine(host.Dir, "ssh-bytes.log");
        Directory.CreateDirectory(bin);
        string wrapper = Path.Combine(bin, "ssh");
        await File.WriteAllTextAsync(wrapper, "#!/bin/sh\nexec /usr/bin/ssh -E \"$SSH_BYTES_LOG\" -o LogLevel=VERBOSE \"$@\"\n");
        File.SetUnixFileMode(wrapper, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var environment = new Dictionary<string, string>
        {
            ["PATH"] = bin + ":" + Environment.GetEnvironmentVariable("PATH"),
            ["SSH_BYTES_LOG"] = log,
        };
        var sent = new List<long>();
        Task Reset()
        {
            File.Delete(log);
            return Task.CompletedTask;
        }
        void Count() => sent.Add(File.ReadLines(log).Select(l => Transferred().Match(l)).Where(m => m.Success)
            .Sum(m => long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)));

        Console.Error.WriteLine($"==> copy of a root of {files} files to a host that has its closure");
        string[] to = ["--bus", bench.Daemon.Bus.Address, "--ssh-config", host.SshConfig, "copy", name, "--to", host.Spec(), "--to-bus", host.Daemon.Bus.Address];
        int n = 0;
        using var there = await host.Daemon.ConnectAsync();
        var copy = await Timing.OfAsync(repetitions, async () =>
        {
            var result = await Cli.RunAsync([.. to, "--name", $"bench-copied-{n}"], environment);
            Bench.Check(result.ExitCode == 0 && result.Stdout.Contains("push: 0 of ", StringComparison.Ordinal), $"the copy failed or pushed paths: {result}");
        }, before: Reset, after: async () =>
        {
            Count();
            var end = await there.RunJobAsync(c => c.DestroyContainerAsync($"bench-copied-{n++}"));
            Bench.Check(end.Succeeded, $"destroy there: {end.Message}");
        });
        long oursBytes = Median(sent);
        sent.Clear();

        string target = Path.Combine(host.Dir, "tar-target");
        var tar = await Timing.OfAsync(repetitions, () => TarThroughSshAsync(rootfs, target, wrapper, environment),
            before: async () =>
            {
                await Reset();
                await host.RunCheckedAsync("mkdir", "-p", target);
            },
            after: async () =>
            {
                Count();
                await host.RunCheckedAsync("rm", "-rf", target);
            });
        long tarBytes = Median(sent);
        rows.Add(new Row($"copy of a stopped container ({files} files in its root) to a host that has its closure", copy,
            [new("`tar -c \\| ssh HOST tar -x` of its root", tar)]));
        notes.Add(string.Format(CultureInfo.InvariantCulture,
            "Bytes sent over ssh (ssh's own count, all connections, median of the runs): copy {0:0.0} kB, `tar | ssh | tar` {1:0.0} kB ({2:0.00}×). " +
            "copy's include nix-copy-closure's query of the paths the host lacks (none) and the D-Bus session with the archive's manifest, definitions and hashes.",
            oursBytes / 1e3, tarBytes / 1e3, (double)oursBytes / tarBytes));
        await bench.JobAsync(c => c.DestroyContainerAsync(name));
    }

    /// <summary>tar's stdout into ssh's stdin, as `tar -c … | ssh … tar -x …` (no shell here; ssh runs tar there).</summary>
    private async Task TarThroughSshAsync(string rootfs, string target, string ssh, IReadOnlyDictionary<string, string> environment)
    {
        using var reader = ArchiveMeasurements.Start("tar", ["--numeric-owner", "-C", rootfs, "-cf", "-", "."], stdin: false, environment);
        using var writer = ArchiveMeasurements.Start(ssh, ["-F", host.SshConfig, "-p", host.Port.ToString(CultureInfo.InvariantCulture), "root@127.0.0.1",
            "tar", "--numeric-owner", "-xpf", "-", "-C", target], stdin: true, environment);
        var drain = writer.StandardOutput.BaseStream.CopyToAsync(Stream.Null);
        await reader.StandardOutput.BaseStream.CopyToAsync(writer.StandardInput.BaseStream);
        writer.StandardInput.Close();
        await Task.WhenAll(reader.WaitForExitAsync(), writer.WaitForExitAsync(), drain);
        Bench.Check(reader.ExitCode == 0 && writer.ExitCode == 0, $"tar | ssh | tar: {reader.ExitCode}, {writer.ExitCode}");
    }

    private static long Median(List<long> values) => values.Order().ElementAt(values.Count / 2);

    [GeneratedRegex(@"Transferred: sent (\d+), received \d+ bytes")]
    private static partial Regex Transferred();
}
