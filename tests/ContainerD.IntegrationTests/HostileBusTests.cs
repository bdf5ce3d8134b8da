using System.Diagnostics;
using ContainerD.Contract;
using ContainerD.IntegrationTests.Harness;
using Tmds.DBus.Protocol;

namespace ContainerD.IntegrationTests;

/// <summary>
/// Every method of the Manager, Container and Job interfaces driven with malformed and hostile input
/// — wrong signatures, bad and huge names, huge arrays, NUL and invalid UTF-8 — and output a
/// container or a build controls: the daemon answers each with a named error and stays on the bus.
/// The bus here has dbus-daemon's default limits (32 MiB a message), as a system bus has.
/// </summary>
public sealed class HostileBusTests : IAsyncLifetime
{
    private const string Service = "io.containerctl.ContainerD1";
    private delegate void Body(ref MessageWriter writer);
    private string _dir = "";
    private DaemonUnderTest _daemon = null!;
    private ContainerDClient _client = null!;
    private string _target = "";

    public async Task InitializeAsync()
    {
        _dir = BusConfigs.SharedDir();
        _daemon = await DaemonUnderTest.StartAsync("idPool: { base: 1200000000, size: 655360 }", PrivateBus.Start(BusConfigs.Open(_dir)));
        _client = await _daemon.ConnectAsync();
        string system = await Systems.BuildAsync("hostile");
        var created = await _client.RunJobAsync(c => c.CreateContainerAsync("target", $"system: {{ path: {system} }}\nstopTimeout: 5s\n"));
        Assert.True(created.Succeeded, created.Message);
        Assert.True((await _client.RunJobAsync(c => c.StartContainerAsync("target"))).Succeeded);
        _target = await _client.GetContainerAsync("target");
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _daemon.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>A raw call; the error's name and message, or (null, null) when it succeeded.</summary>
    private static async Task<(string? Name, string? Message)> Call(DBusConnection connection, string path, string? iface, string member, string? signature, Body? body = null)
    {
        MessageBuffer Create()
        {
            var writer = connection.GetMessageWriter();
            writer.WriteMethodCallHeader(Service, path, iface, member, signature, MessageFlags.None);
            body?.Invoke(ref writer);
            var message = writer.CreateMessage();
            writer.Dispose();
            return message;
        }
        try
        {
            await connection.CallMethodAsync(Create());
            return (null, null);
        }
        catch (DBusErrorReplyException e)
        {
            return (e.ErrorName, e.ErrorMessage);
        }
    }

    private Task<(string? Name, string? Message)> Call(string path, string? iface, string member, string? signature, Body? body = null) =>
        Call(_client.Connection, path, iface, member, signature, body);

    private async Task AssertStillOnTheBus()
    {
        using var fresh = await _daemon.ConnectAsync();
        Assert.Contains(await fresh.ListContainersAsync(), c => c.Name == "target");
        Assert.False(Process.GetProcessById(_daemon.Pid).HasExited);
    }

    private long RssMegabytes() =>
        long.Parse(File.ReadLines($"/proc/{_daemon.Pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal))
            .Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) / 1024;

    public static TheoryData<string> Interfaces => new() { Names.ManagerInterface, Names.ContainerInterface, Names.JobInterface };

    [Fact]
    public async Task Every_method_with_a_wrong_signature_is_InvalidArgs_and_unknown_members_objects_and_interfaces_are_named()
    {
        // A job that runs long enough to be called: a slow build, canceled at the end.
        string slow = DaemonUnderTest.NixDefinition("slow", "slow-" + Guid.NewGuid().ToString("N")[..8], args: new Dictionary<string, string> { ["buildDelay"] = "60" });
        await _client.WatchJobsAsync();
        string job = await _client.CreateContainerAsync("slow", slow);
        // A second create of a name still being created is Busy, not AlreadyExists.
        var second = await Assert.ThrowsAsync<DBusErrorReplyException>(() => _client.CreateContainerAsync("slow", slow));
        Assert.Equal(Errors.NameOf("Busy"), second.ErrorName);

        foreach (var (spec, path) in new[] { (Introspection.ManagerSpec, Names.ManagerPath), (Introspection.ContainerSpec, _target), (Introspection.JobSpec, job) })
        {
            foreach (var method in spec.Methods.Values)
            {
                string wrong = method.InSignature == "u" ? "s" : "u";
                var error = await Call(path, spec.Name, method.Name, wrong, wrong == "u" ? (ref MessageWriter w) => w.WriteUInt32(7) : (ref MessageWriter w) => w.WriteString("x"));
                Assert.True(error.Name == Errors.InvalidArgs, $"{spec.Name}.{method.Name}({wrong}): {error}");
                if (method.InSignature.Length > 0)
                {
                    // No arguments at all where some are due.
                    Assert.Equal(Errors.InvalidArgs, (await Call(path, spec.Name, method.Name, null)).Name);
                }
            }
            Assert.Equal(Errors.UnknownMethod, (await Call(path, spec.Name, "NoSuchMethod", null)).Name);
            Assert.Equal(Errors.UnknownInterface, (await Call(path, "io.nope", "Anything", null)).Name);
            Assert.Equal(Errors.UnknownInterface, (await Call(path, Names.PropertiesInterface, "GetAll", "s", (ref MessageWriter w) => w.WriteString("io.nope"))).Name);
            Assert.Equal(Errors.UnknownProperty, (await Call(path, Names.PropertiesInterface, "Get", "ss", (ref MessageWriter w) => { w.WriteString(spec.Name); w.WriteString("Nope"); })).Name);
            string someProperty = spec.Properties.Keys.FirstOrDefault() ?? "";
            Assert.Equal(someProperty.Length > 0 ? Errors.PropertyReadOnly : Errors.UnknownProperty, (await Call(path, Names.PropertiesInterface, "Set", "ssv", (ref MessageWriter w) =>
                { w.WriteString(spec.Name); w.WriteString(someProperty.Length > 0 ? someProperty : "x"); w.WriteVariant(VariantValue.UInt32(1)); })).Name);
            Assert.Equal(Errors.InvalidArgs, (await Call(path, Names.PropertiesInterface, "Get", "s", (ref MessageWriter w) => w.WriteString(spec.Name))).Name);

            // Introspection names the standard interfaces the object serves.
            var xml = await _client.Connection.CallMethodAsync(IntrospectMessage(path), static (Message m, object? _) => m.GetBodyReader().ReadString());
            foreach (string served in new[] { spec.Name, "org.freedesktop.DBus.Properties", "org.freedesktop.DBus.Introspectable", "org.freedesktop.DBus.Peer" })
            {
                Assert.Contains($"<interface name=\"{served}\">", xml);
            }
        }

        // A path with no object (a container or job that is gone, or none at all) is UnknownObject.
        foreach (string path in new[] { Names.ContainerPath("ghost"), Names.JobPath(999999), "/io/nope", Names.ManagerPath + "/container" })
        {
            Assert.Equal(Errors.UnknownObject, (await Call(path, Names.ContainerInterface, Wire.Container.RunCommand, "asa{ss}", (ref MessageWriter w) =>
            {
                w.WriteArray(new[] { "id" });
                WriteEnv(ref w, []);
            })).Name);
        }

        await _client.CancelJobAsync(ContainerDClient.JobId(job));
        var end = await _client.WaitForJobAsync(job).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal((JobResults.Canceled, Errors.NameOf("Canceled")), (end.Result, end.ErrorName));
        await AssertStillOnTheBus();
    }

    private static void WriteEnv(ref MessageWriter w, Dictionary<string, string> env)
    {
        ArrayStart dict = w.WriteDictionaryStart();
        foreach (var (key, value) in env)
        {
            w.WriteDictionaryEntryStart();
            w.WriteString(key);
            w.WriteString(value);
        }
        w.WriteDictionaryEnd(dict);
    }

    private MessageBuffer IntrospectMessage(string path)
    {
        var writer = _client.Connection.GetMessageWriter();
        writer.WriteMethodCallHeader(Service, path, "org.freedesktop.DBus.Introspectable", "Introspect", null, MessageFlags.None);
        var message = writer.CreateMessage();
        writer.Dispose();
        return message;
    }

    [Fact]
    public async Task A_bad_name_is_InvalidName_in_every_method_and_a_huge_one_is_neither_echoed_nor_the_end_of_the_daemon()
    {
        // Every Manager method whose first argument is a name.
        var named = Introspection.ManagerSpec.Methods.Values.Where(m => m.InSignature.StartsWith('s')).ToList();
        Assert.True(named.Count >= 10);
        string huge = new('a', (32 << 20) - 4096); // the request just fits the bus's 32 MiB; an echoing reply would not
        foreach (string name in new[] { "Bad_Name", "", "../etc", "web\n", new string('a', 32), huge })
        {
            foreach (var method in named)
            {
                var error = await Call(Names.ManagerPath, Names.ManagerInterface, method.Name, method.InSignature, (ref MessageWriter w) =>
                {
                    w.WriteString(name);
                    // Whole types, one a char: a{sv} is 'D'.
                    foreach (char rest in method.InSignature[1..].Replace("a{sv}", "D", StringComparison.Ordinal))
                    {
                        switch (rest)
                        {
                            case 's': w.WriteString("system: { path: /nix/store/x }\n"); break;
                            case 'b': w.WriteBool(false); break;
                            case 'u': w.WriteUInt32(0); break;
                            case 'h': w.WriteHandle(File.OpenHandle("/dev/null")); break;
                            case 'D': w.WriteDictionaryEnd(w.WriteDictionaryStart()); break;
                        }
                    }
                });
                Assert.True(error.Name == Errors.NameOf("InvalidName"), $"{method.Name}({name.Length} chars): {error.Name}");
                Assert.True(error.Message!.Length < 200, $"{method.Name} echoed {error.Message.Length} chars");
            }
        }
        Assert.True(RssMegabytes() < 400, $"the daemon holds {RssMegabytes()} MB");
        await AssertStillOnTheBus();
    }

    [Fact]
    public async Task Export_options_are_checked_a_typo_or_a_wrong_type_is_refused_not_taken_for_a_default()
    {
        async Task<(string? Name, string? Message)> Export(string key, bool asString) =>
            await Call(Names.ManagerPath, Names.ManagerInterface, Wire.Manager.ExportContainer, "sha{sv}", (ref MessageWriter w) =>
            {
                w.WriteString("target");
                w.WriteHandle(File.OpenHandle("/dev/null", FileMode.Open, FileAccess.Write));
                ArrayStart dict = w.WriteDictionaryStart();
                w.WriteDictionaryEntryStart();
                w.WriteString(key);
                if (asString)
                {
                    w.WriteVariantString("yes");
                }
                else
                {
                    w.WriteVariantBool(true);
                }
                w.WriteDictionaryEnd(dict);
            });
        var typo = await Export("AllGeneration", asString: false);
        Assert.Equal(Errors.InvalidArgs, typo.Name);
        Assert.Contains("unknown option 'AllGeneration'; the options are AllGenerations, Closure", typo.Message);
        var wrongType = await Export("Closure", asString: true);
        Assert.Equal(Errors.InvalidArgs, wrongType.Name);
        Assert.Contains("option Closure takes a boolean", wrongType.Message);
        Assert.Empty(await _client.ListJobsAsync());
        await AssertStillOnTheBus();
    }

    [Fact]
    public async Task A_refused_call_closes_the_descriptor_that_came_with_it()
    {
        // The write end of a pipe goes with an export the daemon refuses (an unknown option): once
        // the daemon has closed its copy, and the bus library ours, the read end reads end of file.
        using var pipe = new System.IO.Pipes.AnonymousPipeServerStream(System.IO.Pipes.PipeDirection.In);
        var refused = await Call(Names.ManagerPath, Names.ManagerInterface, Wire.Manager.ExportContainer, "sha{sv}", (ref MessageWriter w) =>
        {
            w.WriteString("target");
            w.WriteHandle(pipe.ClientSafePipeHandle);
            ArrayStart dict = w.WriteDictionaryStart();
            w.WriteDictionaryEntryStart();
            w.WriteString("NoSuchOption");
            w.WriteVariantBool(true);
            w.WriteDictionaryEnd(dict);
        });
        Assert.Equal(Errors.InvalidArgs, refused.Name);
        pipe.DisposeLocalCopyOfClientHandle();
        var read = pipe.ReadAsync(new byte[1]).AsTask();
        Assert.Same(read, await Task.WhenAny(read, Task.Delay(TimeSpan.FromMinutes(1))));
        Assert.Equal(0, await read);
        await AssertStillOnTheBus();
    }

    [Fact]
    public async Task Properties_Get_with_a_30_MB_interface_name_answers_short_and_costs_no_memory()
    {
        long before = RssMegabytes();
        string iface = new('i', 30 << 20);
        for (int i = 0; i < 18; i++)
        {
            var error = await Call(_target, Names.PropertiesInterface, "Get", "ss", (ref MessageWriter w) => { w.WriteString(iface); w.WriteString("State"); });
            Assert.Equal(Errors.UnknownInterface, error.Name);
            Assert.True(error.Message!.Length < 200, $"echoed {error.Message.Length} chars");
        }
        var unknownProperty = await Call(_target, Names.PropertiesInterface, "Get", "ss", (ref MessageWriter w) => { w.WriteString(Names.ContainerInterface); w.WriteString(iface); });
        Assert.Equal(Errors.UnknownProperty, unknownProperty.Name);
        Assert.True(unknownProperty.Message!.Length < 200);
        long after = RssMegabytes();
        Assert.True(after < before + 250, $"the daemon grew from {before} MB to {after} MB");
        await AssertStillOnTheBus();
    }

    [Fact]
    public async Task Out_of_range_numbers_and_bad_arguments_are_named_errors()
    {
        Assert.Equal(Errors.InvalidArgs, (await Call(Names.ManagerPath, Names.ManagerInterface, "StopContainerWithTimeout", "sbu", (ref MessageWriter w) =>
            { w.WriteString("target"); w.WriteBool(false); w.WriteUInt32(uint.MaxValue); })).Name);
        var rollback = await Call(Names.ManagerPath, Names.ManagerInterface, "RollbackContainer", "su", (ref MessageWriter w) => { w.WriteString("target"); w.WriteUInt32(uint.MaxValue); });
        Assert.Equal(Errors.NameOf("NoSuchGeneration"), rollback.Name);
        Assert.DoesNotContain("Arithmetic", rollback.Message);
        Assert.Equal(Errors.InvalidArgs, (await Call(Names.ManagerPath, Names.ManagerInterface, "DeleteGenerations", "ss", (ref MessageWriter w) =>
            { w.WriteString("target"); w.WriteString(new string('+', 1 << 20)); })).Name);
        Assert.Equal(Errors.NameOf("NoSuchJob"), (await Call(Names.ManagerPath, Names.ManagerInterface, Wire.Manager.CancelJob, "u", (ref MessageWriter w) => w.WriteUInt32(uint.MaxValue))).Name);
        var hugeYaml = await Call(Names.ManagerPath, Names.ManagerInterface, Wire.Manager.CreateContainer, "ss", (ref MessageWriter w) => { w.WriteString("big"); w.WriteString(new string('#', 20 << 20)); });
        Assert.Equal(Errors.NameOf("InvalidDefinition"), hugeYaml.Name);
        Assert.True(hugeYaml.Message!.Length < 200);

        // RunCommand: empty argv, a huge argv, a huge env.
        Body Command(string[] argv, Dictionary<string, string> env) => (ref MessageWriter w) => { w.WriteArray(argv); WriteEnv(ref w, env); };
        Assert.Equal(Errors.InvalidArgs, (await Call(_target, Names.ContainerInterface, Wire.Container.RunCommand, "asa{ss}", Command([], []))).Name);
        Assert.Equal(Errors.InvalidArgs, (await Call(_target, Names.ContainerInterface, Wire.Container.RunCommand, "asa{ss}",
            Command(Enumerable.Repeat("x", 100_000).ToArray(), []))).Name);
        Assert.Equal(Errors.InvalidArgs, (await Call(_target, Names.ContainerInterface, Wire.Container.RunCommand, "asa{ss}",
            Command(["true"], Enumerable.Range(0, 10_000).ToDictionary(i => $"K{i}", _ => "v")))).Name);
        Assert.Equal(Errors.InvalidArgs, (await Call(_target, Names.ContainerInterface, Wire.Container.RunCommand, "asa{ss}",
            Command(["echo", new string('a', 2 << 20)], []))).Name);
        Assert.Empty(await _client.ListJobsAsync());
        await AssertStillOnTheBus();
    }

    [Fact]
    public async Task NUL_and_invalid_UTF8_from_a_client_cost_that_client_its_connection_not_the_daemon()
    {
        foreach (byte[] text in new[] { "a\0b"u8.ToArray(), new byte[] { 0xff, 0xfe, (byte)'a' }, new byte[] { 0xed, 0xa0, 0x80 } })
        {
            using var hostile = await _daemon.ConnectAsync();
            // A string argument written byte by byte: length, the bytes, the terminating NUL.
            var result = Call(hostile.Connection, Names.ManagerPath, Names.ManagerInterface, Wire.Manager.GetContainer, "s", (ref MessageWriter w) =>
            {
                w.WriteUInt32((uint)text.Length);
                foreach (byte b in text)
                {
                    w.WriteByte(b);
                }
                w.WriteByte(0);
            });
            // The bus refuses such a message (and drops the sender); the daemon never sees it.
            await Assert.ThrowsAnyAsync<Exception>(async () => { var (name, _) = await result.WaitAsync(TimeSpan.FromSeconds(10)); throw new InvalidOperationException(name); });
        }
        await AssertStillOnTheBus();
    }

    [Fact]
    public async Task RunCommand_output_past_its_cap_kills_the_command_with_OutputTooLarge_and_the_daemon_stays_small()
    {
        long before = RssMegabytes();
        var error = await Assert.ThrowsAsync<DBusErrorReplyException>(() => _client.RunCommandAsync(_target, ["yes"], new Dictionary<string, string>()));
        Assert.Equal(Errors.NameOf("OutputTooLarge"), error.ErrorName);
        Assert.Contains("16 MiB", error.ErrorMessage);
        Assert.Empty(InsideProcesses("yes"));
        Assert.True(RssMegabytes() < before + 200, $"the daemon grew from {before} MB to {RssMegabytes()} MB");

        // Just under the cap, the output is exact, bytes and all (NUL, invalid UTF-8).
        var exact = await _client.RunCommandAsync(_target, ["sh", "-c", "head -c 1000000 /dev/zero; printf '\\377\\000x' >&2"], new Dictionary<string, string>());
        Assert.Equal(1_000_000, exact.Stdout.Length);
        Assert.Equal(new byte[] { 0xff, 0, (byte)'x' }, exact.Stderr);
        await AssertStillOnTheBus();
    }

    [Fact]
    public async Task RunCommand_stops_the_command_when_its_caller_leaves_the_bus()
    {
        string marker = "ctd-" + Guid.NewGuid().ToString("N")[..8];
        // The command inside would run 10 minutes; once it runs, its caller is killed and so leaves the bus.
        var startInfo = new ProcessStartInfo("busctl") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string arg in (string[])[$"--address={_daemon.Bus.Address}", "--timeout=600", "--", "call", Service, _target,
            Names.ContainerInterface, Wire.Container.RunCommand, "asa{ss}", "3", "sh", "-c", $"sleep 600; echo {marker}", "0"])
        {
            startInfo.ArgumentList.Add(arg);
        }
        using (var caller = Process.Start(startInfo)!)
        {
            await Eventually.TrueAsync(() => InsideProcesses(marker).Count > 0, "the command running inside", TimeSpan.FromSeconds(30));
            caller.Kill();
            await caller.WaitForExitAsync();
        }
        await Eventually.TrueAsync(() => InsideProcesses(marker).Count == 0, "the command and its lxc-attach ended", TimeSpan.FromSeconds(15));
        await AssertStillOnTheBus();
    }

    /// <summary>Host pids of processes whose command line mentions text (lxc-attach and what it runs inside).</summary>
    private static List<int> InsideProcesses(string text) =>
        Directory.EnumerateDirectories("/proc").Select(Path.GetFileName).Where(p => p!.All(char.IsAsciiDigit)).Select(p => int.Parse(p!, System.Globalization.CultureInfo.InvariantCulture))
            .Where(pid =>
            {
                try
                {
                    var argv = File.ReadAllText($"/proc/{pid}/cmdline").Split('\0');
                    return text == "yes" ? argv is ["yes", ..] : argv.Any(a => a.Contains(text, StringComparison.Ordinal));
                }
                catch (IOException)
                {
                    return false;
                }
            })
            .ToList();

    [Fact]
    public async Task A_build_that_prints_NUL_bytes_fails_cleanly_with_BuildFailed_and_the_daemon_stays_on_the_bus()
    {
        string nix = Path.Combine(_dir, "nul.nix");
        await File.WriteAllTextAsync(nix, "derivation { name = \"nul-" + Guid.NewGuid().ToString("N")[..8] + "\"; system = builtins.currentSystem; builder = \"/nonexistent\"; }\n");
        var lines = new System.Collections.Concurrent.ConcurrentQueue<string>();
        await _client.WatchJobsAsync((_, line) => lines.Enqueue(line));
        var end = await _client.RunJobAsync(c => c.CreateContainerAsync("nul", $"system: {{ nix: {{ file: {nix} }} }}\n")).WaitAsync(TimeSpan.FromSeconds(120));
        Assert.Equal(JobResults.Failed, end.Result);
        Assert.Equal(Errors.NameOf("BuildFailed"), end.ErrorName);
        Assert.Contains("nonexistent", end.Message);
        Assert.DoesNotContain('\0', end.Message);
        Assert.All(lines, line => Assert.DoesNotContain('\0', line));
        await AssertStillOnTheBus();

        // The CLI maps the error's name to its exit code and says what failed.
        var cli = await _daemon.CliAsync("create", "nul2", "--nix", nix);
        Assert.True(cli.ExitCode == 1, cli.ToString());
        Assert.Contains("failed", cli.Stderr);
        await AssertStillOnTheBus();
    }
}
