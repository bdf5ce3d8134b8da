using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.IO.Pipes;
using System.Text;
using ContainerD.Domain;
using ContainerD.Os.Nix;

namespace ContainerD.DaemonTests;

/// <summary>
/// A profile's generations as the daemon writes them, in Nix's format, with Nix's answer (is the
/// path valid, held against the collector) scripted by a serve-protocol peer.
/// </summary>
public sealed class ProfileLinkTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private string ProfileDir => Path.Combine(_dir.Path, "profiles", "web");
    private string AutoRoots => Path.Combine(_dir.Path, "gcroots-auto");

    private const string A = "/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-system-a", B = "/nix/store/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-system-b";

    [Fact]
    public async Task A_valid_path_becomes_a_generation_in_Nixs_format_held_until_its_links_are_written()
    {
        var server = new FakeServe([A, B]);
        var nix = new NixTool(servers: new StoreServers(server.StartAsync), autoRoots: AutoRoots);

        Assert.Equal(1, await nix.SetProfileAsync(ProfileDir, A, CancellationToken.None));
        string link1 = Path.Combine(ProfileDir, "system-1-link");
        Assert.Equal("system-1-link", new FileInfo(Path.Combine(ProfileDir, "system")).LinkTarget); // relative, as switchLink makes it
        Assert.Equal(A, new FileInfo(link1).LinkTarget);
        Assert.Equal(link1, new FileInfo(Path.Combine(AutoRoots, ProfileLinks.IndirectRootName(link1))).LinkTarget);
        // Asked with lock (a temporary root) and no substitution; the connection ended once the links were there.
        Assert.Equal([(1ul, 0ul, A)], server.Queries);
        await Eventually(() => server.Ended == 1);

        Assert.Equal(1, await nix.SetProfileAsync(ProfileDir, A, CancellationToken.None)); // nix-env's rule: no new generation for the last one's path
        Assert.Equal(2, await nix.SetProfileAsync(ProfileDir, B, CancellationToken.None));
        Assert.Equal(3, await nix.SetProfileAsync(ProfileDir, A, CancellationToken.None));
        Assert.Equal([(1, A, false), (2, B, false), (3, A, true)], NixTool.ListGenerations(ProfileDir).Select(g => (g.Number, g.StorePath, g.Current)));
        Assert.Equal(3, Directory.GetFileSystemEntries(AutoRoots).Length);
        // Nothing half-made is left: no temporary links.
        Assert.Equal(["system", "system-1-link", "system-2-link", "system-3-link"], Directory.GetFileSystemEntries(ProfileDir).Select(Path.GetFileName).Order());
    }

    [Fact]
    public async Task A_path_Nix_does_not_hold_valid_is_refused_and_the_profile_is_left_as_it_was()
    {
        var nix = new NixTool(servers: new StoreServers(new FakeServe([A]).StartAsync), autoRoots: AutoRoots);
        Assert.Equal(1, await nix.SetProfileAsync(ProfileDir, A, CancellationToken.None));

        var error = await Assert.ThrowsAsync<ContainerDException>(() => nix.SetProfileAsync(ProfileDir, B, CancellationToken.None));
        Assert.Equal((ErrorKind.InvalidDefinition, $"system path {B} is not a valid path in the Nix store: build it or copy it there first"),
            (error.Kind, error.Message));
        Assert.Equal([(1, A, true)], NixTool.ListGenerations(ProfileDir).Select(g => (g.Number, g.StorePath, g.Current)));
    }

    [Fact]
    public async Task A_generation_whose_root_cannot_be_written_is_not_left_behind()
    {
        var nix = new NixTool(servers: new StoreServers(new FakeServe([A, B]).StartAsync), autoRoots: AutoRoots);
        Assert.Equal(1, await nix.SetProfileAsync(ProfileDir, A, CancellationToken.None));
        // gcroots/auto cannot take the new generation's link (here a file is in its way; a full disk would do).
        Directory.Delete(AutoRoots, recursive: true);
        File.WriteAllText(AutoRoots, "");

        var error = await Assert.ThrowsAsync<ContainerDException>(() => nix.SetProfileAsync(ProfileDir, B, CancellationToken.None));
        Assert.Equal(ErrorKind.Failed, error.Kind);
        Assert.StartsWith($"cannot write generation of {B} into profile {Path.Combine(ProfileDir, "system")}", error.Message);
        // No generation 2 that no root holds (the collector would take its system, and the next one would be 3).
        Assert.Equal([(1, A, true)], NixTool.ListGenerations(ProfileDir).Select(g => (g.Number, g.StorePath, g.Current)));
        Assert.Equal(["system", "system-1-link"], Directory.GetFileSystemEntries(ProfileDir).Select(Path.GetFileName).Order());

        File.Delete(AutoRoots);
        Assert.Equal(2, await nix.SetProfileAsync(ProfileDir, B, CancellationToken.None));
    }

    [Fact]
    public async Task A_spare_that_ended_meanwhile_is_passed_over_for_a_new_connection()
    {
        var server = new FakeServe([A]);
        var nix = new NixTool(servers: new StoreServers(server.StartAsync), autoRoots: AutoRoots);
        Assert.Equal(1, await nix.SetProfileAsync(ProfileDir, A, CancellationToken.None)); // a new connection; the spare starts beside it
        await Eventually(() => server.Greeted == 2);
        server.EndAll(); // the spare's nix-store is gone (killed, say)
        Assert.Equal(1, await nix.SetProfileAsync(ProfileDir, A, CancellationToken.None));
        Assert.Equal(3, server.Queries.Count); // once on the first, then on the dead spare and again on a new one
        Assert.True(server.Greeted >= 3);
    }

    [Fact]
    public async Task A_step_canceled_before_Nix_answered_ends_its_nix_store_which_holds_nothing_after_it()
    {
        var server = new FakeServe([A, B]);
        var nix = new NixTool(servers: new StoreServers(server.StartAsync), autoRoots: AutoRoots);
        Assert.Equal(1, await nix.SetProfileAsync(ProfileDir, A, CancellationToken.None));
        await Eventually(() => server.Greeted == 2); // the spare is ready

        // The spare takes the question and does not answer (a nix-store stuck on a lock, or stopped).
        server.Hold = new SemaphoreSlim(0);
        using var cancel = new CancellationTokenSource();
        var set = nix.SetProfileAsync(ProfileDir, B, cancel.Token);
        await Eventually(() => server.Queries.Count == 2);
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => set);
        // Killed, not left holding B as a temporary root for as long as the daemon runs; the profile is as it was.
        Assert.Equal(1, server.Killed);
        Assert.Equal([(1, A, true)], NixTool.ListGenerations(ProfileDir).Select(g => (g.Number, g.StorePath, g.Current)));
        server.Hold.Release(); // (a fake does not die of it: once it answers, it finds its input ended)
        await Eventually(() => server.Ended == 2);
    }

    [Fact]
    public async Task A_burst_of_profiles_starts_one_nix_store_each_and_one_spare()
    {
        var server = new FakeServe([A]);
        var nix = new NixTool(servers: new StoreServers(server.StartAsync), autoRoots: AutoRoots);
        var generations = await Task.WhenAll(Enumerable.Range(0, 8).Select(i =>
            Task.Run(() => nix.SetProfileAsync(Path.Combine(_dir.Path, "profiles", $"c{i}"), A, CancellationToken.None))));
        Assert.All(generations, g => Assert.Equal(1, g));
        await Eventually(() => server.Greeted == 9);
        Assert.Equal(9, server.Started);
        await Eventually(() => server.Ended == 8); // each caller's connection ended with its step; the spare waits
    }

    [Fact]
    public async Task A_server_that_speaks_another_protocol_is_a_clear_error()
    {
        var nix = new NixTool(servers: new StoreServers(new FakeServe([A], magic: 0x1234).StartAsync), autoRoots: AutoRoots);
        var error = await Assert.ThrowsAsync<ContainerDException>(() => nix.SetProfileAsync(ProfileDir, A, CancellationToken.None));
        Assert.Equal((ErrorKind.Failed, "nix-store --serve does not speak serve protocol 2 (magic 1234, version 207)"), (error.Kind, error.Message));
        Assert.Empty(NixTool.ListGenerations(ProfileDir));
    }

    private static async Task Eventually(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!condition())
        {
            await Task.Delay(10, timeout.Token);
        }
    }

    /// <summary>The server side of `nix-store --serve`'s greeting and cmdQueryValidPaths, over pipes.</summary>
    private sealed class FakeServe(IReadOnlyCollection<string> valid, ulong magic = 0x5452eecb)
    {
        public ConcurrentQueue<(ulong Lock, ulong Substitute, string Path)> Queries { get; } = new();
        private readonly ConcurrentQueue<Stream> _outputs = new();
        private int _ended, _greeted, _started, _killed;
        public int Started => Volatile.Read(ref _started);
        public int Killed => Volatile.Read(ref _killed);
        /// <summary>Set: each server waits for it before it answers a question.</summary>
        public SemaphoreSlim? Hold { get; set; }
        public int Ended => Volatile.Read(ref _ended);
        public int Greeted => Volatile.Read(ref _greeted);

        /// <summary>Every server so far stops answering, as a killed nix-store does.</summary>
        public void EndAll()
        {
            foreach (var output in _outputs)
            {
                output.Dispose();
            }
        }

        public Task<ServeConnection> StartAsync(CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _started);
            var toServer = new AnonymousPipeServerStream(PipeDirection.Out);
            var serverIn = new AnonymousPipeClientStream(PipeDirection.In, toServer.ClientSafePipeHandle);
            var fromServer = new AnonymousPipeServerStream(PipeDirection.In);
            var serverOut = new AnonymousPipeClientStream(PipeDirection.Out, fromServer.ClientSafePipeHandle);
            _outputs.Enqueue(serverOut);
            // A thread of its own: its reads block, and a blocked pool thread starves the rest.
            _ = Task.Factory.StartNew(() => Serve(serverIn, serverOut), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            var connection = new ServeConnection(toServer, fromServer, () =>
            {
                toServer.Dispose();
                return ValueTask.CompletedTask;
            }, () => "", () => Interlocked.Increment(ref _killed));
            return connection.HandshakeAsync(cancellationToken).ContinueWith(t =>
            {
                t.GetAwaiter().GetResult();
                return connection;
            }, TaskScheduler.Default);
        }

        private void Serve(Stream input, Stream output)
        {
            using (input)
            using (output)
            {
                if (Read(input) != 0x390c9deb)
                {
                    return;
                }
                Write(output, magic, 0x207);
                if (Read(input) >> 8 != 2)
                {
                    return;
                }
                Interlocked.Increment(ref _greeted);
                try
                {
                    while (Read(input) == 1)
                    {
                        ulong @lock = Read(input), substitute = Read(input), count = Read(input);
                        var asked = Enumerable.Range(0, (int)count).Select(_ => ReadString(input)).ToList();
                        asked.ForEach(p => Queries.Enqueue((@lock, substitute, p)));
                        Hold?.Wait();
                        var answer = asked.Where(valid.Contains).ToList();
                        Write(output, (ulong)answer.Count);
                        answer.ForEach(p => WriteString(output, p));
                    }
                }
                catch (Exception e) when (e is EndOfStreamException or IOException or ObjectDisposedException)
                {
                    // The client closed its side (the connection's end), or EndAll closed ours.
                }
                Interlocked.Increment(ref _ended);
            }
        }

        private static ulong Read(Stream s)
        {
            var bytes = new byte[8];
            s.ReadExactly(bytes);
            return BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        }

        private static string ReadString(Stream s)
        {
            int length = (int)Read(s);
            var bytes = new byte[(length + 7) / 8 * 8];
            s.ReadExactly(bytes);
            return Encoding.UTF8.GetString(bytes, 0, length);
        }

        private static void Write(Stream s, params ulong[] numbers)
        {
            foreach (ulong n in numbers)
            {
                var bytes = new byte[8];
                BinaryPrimitives.WriteUInt64LittleEndian(bytes, n);
                s.Write(bytes);
            }
            s.Flush();
        }

        private static void WriteString(Stream s, string text)
        {
            byte[] bytes = Encoding.UTF8.GetBytes(text);
            Write(s, (ulong)bytes.Length);
            s.Write(bytes.Concat(new byte[(8 - bytes.Length % 8) % 8]).ToArray());
            s.Flush();
        }
    }
}
