using System.Diagnostics;
using ContainerD.Contract;
using ContainerD.Testing;
using Tmds.DBus.Protocol;

namespace ContainerD.Benchmarks;

/// <summary>What happens to a running container: an update brought to it, and a stop behind the daemon's back.</summary>
public sealed partial class Measurements
{
    /// <summary>
    /// An update of a running container to a system already in the store (no Nix build), with
    /// `activation: switch` and the example's trivial switch script, against what it does by hand on
    /// the twin: `nix-env --set` of the twin's own profile, then `lxc-attach … switch-to-configuration switch`.
    /// </summary>
    public async Task UpdateAsync()
    {
        Progress("update of a running container (activation: switch)");
        const string name = "bench-upd";
        string[] systems = [await bench.SecondSystemAsync(), bench.System];
        string Definition(string system) => bench.Definition(name, system: system, extra: "activation: switch\n");
        await bench.JobAsync(c => c.CreateContainerAsync(name, Definition(bench.System)));
        string profile = Path.Combine(bench.Daemon.ProfilesDir, "raw-" + name);
        Directory.CreateDirectory(profile);
        string[] setProfile(string system) => ["-p", Path.Combine(profile, "system"), "--set", system];
        await Programs.RunChecked("nix-env", setProfile(bench.System));
        string raw = await bench.RawTwinAsync(name, profileDir: profile);
        // Side by side (the same rootfs, each in its own namespaces, each its own profile), in turns.
        await bench.JobAsync(c => c.StartContainerAsync(name));
        await Programs.RunChecked("lxc-start", Raw(raw, "-d"));
        int ourNext = 0, rawNext = 0;
        var times = await Turns.InTurnsAsync(plan.Repetitions,
            new Turn(() => bench.JobAsync(c => c.UpdateContainerAsync(name, Definition(systems[ourNext++ % 2]))), After: Bench.SettleAsync),
            new Turn(async () =>
            {
                await Programs.RunChecked("nix-env", setProfile(systems[rawNext++ % 2]));
                await Programs.RunChecked("lxc-attach", Raw(raw, "--clear-env", "--", "/nix/var/nix/profiles/system/bin/switch-to-configuration", "switch"));
            }));
        var (ours, byHand) = (times[0], times[1]);
        await bench.JobAsync(c => c.StopContainerAsync(name, true));
        await Programs.RunChecked("lxc-stop", Raw(raw, "-k"));
        Rows.Add(new Row("update of a running container to a built system (`activation: switch`, a trivial switch script)", ours,
            [new("`nix-env --set` + `lxc-attach … switch-to-configuration switch` by hand", byHand)], Target.Ratio(1.1)));
        await bench.JobAsync(c => c.DestroyContainerAsync(name));
    }

    /// <summary>
    /// A container stopped behind the daemon's back (`lxc-stop -k` on the daemon's lxcpath) until a
    /// client has PropertiesChanged(State=stopped): LXC's monitor event, the daemon's refresh, the
    /// signal through the bus. Against the lxc-stop itself, timed from the same moment.
    /// </summary>
    public async Task EventLatencyAsync()
    {
        Progress($"event latency: {plan.Stops} stops behind the daemon's back");
        string path = await bench.Client.GetContainerAsync(One);
        TaskCompletionSource<long>? stopped = null;
        using var watch = await bench.Client.Connection.WatchSignalAsync(null, path, Names.PropertiesInterface, "PropertiesChanged",
            static (Message m, object? _) => m.GetBodyReader() is var r ? (r.ReadString(), r.ReadDictionaryOfStringToVariantValue()) : default,
            (Notification<(string Interface, Dictionary<string, VariantValue> Changed)> n) =>
            {
                if (n.HasValue && n.Value.Changed.TryGetValue("State", out var state) && state.GetString() == "stopped")
                {
                    Volatile.Read(ref stopped)?.TrySetResult(Stopwatch.GetTimestamp());
                }
            }, ObserverFlags.None, emitOnCapturedContext: false);
        var toSignal = new List<double>();
        var lxcStop = new List<double>();
        var afterReturn = new List<double>();
        for (int i = 0; i < plan.Stops; i++)
        {
            await bench.JobAsync(c => c.StartContainerAsync(One));
            var signal = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
            Volatile.Write(ref stopped, signal);
            long began = Stopwatch.GetTimestamp();
            await Programs.RunChecked("lxc-stop", "-P", bench.Daemon.LxcPath, "-n", One, "-k");
            long returned = Stopwatch.GetTimestamp();
            long arrived = await signal.Task.WaitAsync(TimeSpan.FromSeconds(30));
            Volatile.Write(ref stopped, null);
            toSignal.Add(Stopwatch.GetElapsedTime(began, arrived).TotalMilliseconds);
            lxcStop.Add(Stopwatch.GetElapsedTime(began, returned).TotalMilliseconds);
            afterReturn.Add((arrived - returned) * 1000.0 / Stopwatch.Frequency);
        }
        Rows.Add(new Row("event latency: `lxc-stop -k` behind the daemon's back → PropertiesChanged(State=stopped) at a client", new Timing(toSignal),
            [new("`lxc-stop -k` itself, from the same moment", new Timing(lxcStop))]));
        var after = new Timing(afterReturn);
        Notes.Add($"Event latency over {plan.Stops} stops behind the daemon's back: PropertiesChanged(State=stopped) reached the client "
            + $"{Ms(after.Median)} ms (median) and at most {Ms(after.Max)} ms after `lxc-stop -k` returned (min {Ms(after.Min)} ms; negative: before it returned).");
    }
}
