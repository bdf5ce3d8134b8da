using Tmds.DBus.Protocol;

namespace ContainerD.Cli;

/// <summary>
/// Every wait on the daemon also ends when the daemon goes away: containerctl then says so in one
/// line and exits 5 (unreachable) within a second, instead of waiting for a reply that never comes.
/// </summary>
public static class DaemonWatch
{
    private const string NoReply = "org.freedesktop.DBus.Error.NoReply";

    /// <summary>With -H, the other host: there the connection can also end because ssh's does (set once, at start).</summary>
    public static Contract.RemoteHost? RemoteHost { get; set; }

    /// <summary>
    /// what: "job 7 (create web) ran", "the shell in web was open"…; job: the wait was for a job,
    /// which goes on without the daemon's clients, so 'containerctl jobs' shows what became of it.
    /// </summary>
    public static CliException Gone(string what, bool job = false) => new(ExitCodes.Unreachable, RemoteHost is { } host
        ? $"containerctld on {host} went away, or the ssh connection to it closed, while {what}; containers keep running. "
            + (job ? $"Check with 'containerctl -H {host} jobs'." : $"Check that it runs there: 'systemctl status containerctld' on {host}.")
        : $"containerctld went away while {what}; containers keep running. Check with "
            + (job ? "'containerctl jobs' and 'systemctl status containerctld'." : "'systemctl status containerctld'."));

    /// <summary>The work's result, or Gone(what) when the daemon goes away first.</summary>
    public static async Task<T> OrGoneAsync<T>(this Task<T> work, Task gone, string what, bool job = false)
    {
        try
        {
            if (await Task.WhenAny(work, gone).ConfigureAwait(false) != work)
            {
                throw Gone(what, job);
            }
            return await work.ConfigureAwait(false);
        }
        catch (DBusConnectionClosedException)
        {
            throw Gone(what, job);
        }
        catch (DBusErrorReplyException e) when (e.ErrorName == NoReply)
        {
            // The bus answers NoReply for a peer that disconnected — and for a call that took longer
            // than its reply timeout: only the first is the daemon going away.
            if (await Task.WhenAny(gone, Task.Delay(TimeSpan.FromSeconds(1))).ConfigureAwait(false) == gone)
            {
                throw Gone(what, job);
            }
            throw;
        }
    }
}
