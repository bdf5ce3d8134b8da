using System.Diagnostics;
using System.Text;
using ContainerD.Os.Processes;

namespace ContainerD.Os.Nix;

/// <summary>
/// Connections to `nix-store --serve --write`, one started ahead: a Nix process spends ~17 ms
/// starting (mostly its dynamic linking), which a create or an update should not wait for. Each
/// connection serves one step and then ends, so the temporary roots it holds end with that step;
/// the next one starts as the last is taken. It dies with the daemon (ChildProcesses), and its
/// input closes with it, which ends it too.
/// </summary>
public sealed class StoreServers(Func<CancellationToken, Task<ServeConnection>>? start = null)
{
    private readonly Func<CancellationToken, Task<ServeConnection>> _start = start ?? StartNixStoreAsync;
    private readonly Lock _lock = new();
    private Task<ServeConnection>? _spare;

    /// <summary>
    /// Which of the paths Nix holds as valid, each a temporary root until the result is disposed:
    /// asked of the spare (awaited if it is still starting: it is ahead of a new one), else of a new
    /// connection; the next spare starts now. A burst of callers so starts one nix-store each.
    /// </summary>
    public async Task<HeldPaths> HoldValidAsync(IReadOnlyList<string> paths, CancellationToken cancellationToken)
    {
        Task<ServeConnection>? spare;
        lock (_lock)
        {
            spare = _spare;
            _spare = Task.Run(() => _start(CancellationToken.None), CancellationToken.None);
        }
        if (spare is not null)
        {
            ServeConnection? connection = null;
            try
            {
                connection = await spare.WaitAsync(cancellationToken).ConfigureAwait(false);
                return new HeldPaths(await connection.HoldValidAsync(paths, cancellationToken).ConfigureAwait(false), connection);
            }
            catch (OperationCanceledException) when (connection is null)
            {
                // Canceled while it started: it ends once started, holding nothing.
                _ = spare.ContinueWith(static t => t.IsCompletedSuccessfully ? t.Result.DisposeAsync().AsTask() : Task.CompletedTask,
                    CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default).Unwrap();
                throw;
            }
            catch (Domain.ContainerDException) when (!cancellationToken.IsCancellationRequested)
            {
                // A spare that failed to start, or ended meanwhile (killed, say; a question that
                // fails ends its connection): once more on a new one, which says its own error if
                // Nix cannot serve.
            }
        }
        var fresh = await _start(cancellationToken).ConfigureAwait(false);
        return new HeldPaths(await fresh.HoldValidAsync(paths, cancellationToken).ConfigureAwait(false), fresh);
    }

    private const int StderrTail = 4096;

    private static async Task<ServeConnection> StartNixStoreAsync(CancellationToken cancellationToken)
    {
        var startInfo = new ProcessStartInfo("nix-store")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = "/",
        };
        startInfo.ArgumentList.Add("--serve");
        startInfo.ArgumentList.Add("--write");
        var process = new Process { StartInfo = startInfo };
        try
        {
            ChildProcesses.Start(process);
        }
        catch (InvalidOperationException e)
        {
            process.Dispose();
            throw new Domain.ContainerDException(Domain.ErrorKind.Failed, e.Message);
        }
        var errors = new StringBuilder();
        var stderr = Task.Run(async () =>
        {
            var buffer = new char[1024];
            int read;
            while ((read = await process.StandardError.ReadAsync(buffer).ConfigureAwait(false)) > 0)
            {
                lock (errors)
                {
                    errors.Append(buffer, 0, read);
                    if (errors.Length > StderrTail)
                    {
                        errors.Remove(0, errors.Length - StderrTail);
                    }
                }
            }
        }, CancellationToken.None);
        string Errors()
        {
            lock (errors)
            {
                return errors.ToString().Trim();
            }
        }
        ValueTask End()
        {
            try
            {
                process.StandardInput.Close();
            }
            catch (IOException)
            {
                // It is gone already.
            }
            // Reaped beside the caller: it exits at once on the end of its input.
            _ = process.WaitForExitAsync(CancellationToken.None).ContinueWith(_ => process.Dispose(), TaskScheduler.Default);
            return ValueTask.CompletedTask;
        }
        void Kill()
        {
            try
            {
                process.Kill();
            }
            catch (InvalidOperationException)
            {
                // It exited meanwhile.
            }
        }
        var connection = new ServeConnection(process.StandardInput.BaseStream, process.StandardOutput.BaseStream, End, Errors, Kill);
        using var kill = cancellationToken.Register(Kill);
        try
        {
            await connection.HandshakeAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Domain.ContainerDException e)
        {
            // What nix-store said on its way out is the error: wait for it (briefly) to say it.
            await connection.DisposeAsync().ConfigureAwait(false);
            await Task.WhenAny(stderr, Task.Delay(TimeSpan.FromSeconds(1), CancellationToken.None)).ConfigureAwait(false);
            throw new Domain.ContainerDException(e.Kind, Errors() is { Length: > 0 } said ? $"nix-store --serve failed: {said}" : e.Message);
        }
        return connection;
    }
}

/// <summary>Paths Nix holds as valid, temporary roots until this is disposed.</summary>
public sealed class HeldPaths(IReadOnlySet<string> valid, IAsyncDisposable connection) : IAsyncDisposable
{
    public IReadOnlySet<string> Valid { get; } = valid;

    public ValueTask DisposeAsync() => connection.DisposeAsync();
}
