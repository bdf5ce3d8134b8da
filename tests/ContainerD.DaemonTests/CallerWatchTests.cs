using ContainerD.Daemon.Bus;

namespace ContainerD.DaemonTests;

/// <summary>
/// The watch on a RunCommand caller: the bus's read loop cancels it from inside the connection's
/// lock, while the answered call disposes it, which disposes the match and takes that lock.
/// </summary>
public sealed class CallerWatchTests
{
    [Fact]
    public async Task A_caller_leaving_while_its_call_is_answered_does_not_deadlock_the_bus_loop()
    {
        var connectionLock = new object();
        using var inLoop = new ManualResetEventSlim();
        using var disposingMatch = new ManualResetEventSlim();
        var watch = new CallerWatch();
        watch.Hold(new Disposal(() =>
        {
            disposingMatch.Set();
            lock (connectionLock)
            {
            }
        }));

        // The read loop: holds the connection's lock, and tells the watch that its caller left.
        var readLoop = Task.Run(() =>
        {
            lock (connectionLock)
            {
                inLoop.Set();
                disposingMatch.Wait(TimeSpan.FromSeconds(10));
                watch.Cancel();
            }
        });
        inLoop.Wait(TimeSpan.FromSeconds(10));
        var answered = Task.Run(watch.Dispose);

        // Both get through (a wait past 10 s throws): the read loop goes on serving the bus.
        await Task.WhenAll(readLoop, answered).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(readLoop.IsCompletedSuccessfully && answered.IsCompletedSuccessfully);
    }

    private sealed class Disposal(Action onDispose) : IDisposable
    {
        public void Dispose() => onDispose();
    }
}
