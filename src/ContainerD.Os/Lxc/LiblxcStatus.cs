using System.Runtime.InteropServices;
using ContainerD.Domain;

namespace ContainerD.Os.Lxc;

/// <summary>
/// A container's state and init pid straight from liblxc, which asks the container's monitor on its
/// command socket: no process is spawned (lxc-info costs milliseconds, and a start or stop asks
/// several times). Also the kill of a forced stop, which is one command on that socket too (what
/// lxc-stop -k does, without its process). Nothing else: liblxc's start, shutdown and attach fork,
/// which the daemon never does in its own process.
/// </summary>
internal static unsafe partial class LiblxcStatus
{
    private const string Library = "liblxc.so.1";

    // struct lxc_container (lxccontainer.h; liblxc.so.1 only ever appends to it), on LP64:
    // name at 0, config_path at 72, then the methods is_defined, state (88), is_running, freeze,
    // unfreeze, init_pid (120).
    private const int NameOffset = 0;
    private const int ConfigPathOffset = 72;
    private const int StateOffset = 88;
    private const int InitPidOffset = 120;
    // … load_config, start, startl, then stop (152).
    private const int StopOffset = 152;

    /// <summary>Null where liblxc is missing or its struct is not the one above: the caller asks lxc-info instead.</summary>
    public static LxcStatus? TryGet(string name, string lxcPath) => With(name, lxcPath, static container =>
    {
        var state = (delegate* unmanaged<nint, nint>)Marshal.ReadIntPtr(container, StateOffset);
        var initPid = (delegate* unmanaged<nint, int>)Marshal.ReadIntPtr(container, InitPidOffset);
        if (Marshal.PtrToStringUTF8(state(container)) is not { } text)
        {
            return null;
        }
        var parsed = ContainerStateNames.FromLxc(text);
        int pid = parsed == ContainerState.Stopped ? 0 : initPid(container);
        return (LxcStatus?)new LxcStatus(parsed, Math.Max(pid, 0));
    });

    /// <summary>
    /// Kills the container through its monitor (lxc_container's stop: LXC_CMD_STOP) and returns once
    /// the monitor is gone, i.e. the container stopped — a stopped one is not an error. False when
    /// that failed, null where liblxc cannot be used: the caller runs lxc-stop -k, which says why.
    /// </summary>
    public static bool? TryStop(string name, string lxcPath) => With(name, lxcPath, static container =>
    {
        var stop = (delegate* unmanaged<nint, byte>)Marshal.ReadIntPtr(container, StopOffset);
        return (bool?)(stop(container) != 0);
    });

    /// <summary>Runs use on liblxc's struct for the container, when liblxc is there and the struct is the one we know.</summary>
    private static T? With<T>(string name, string lxcPath, Func<nint, T?> use)
    {
        nint container;
        try
        {
            container = lxc_container_new(name, lxcPath);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return default;
        }
        if (container == 0)
        {
            return default;
        }
        try
        {
            // A layout we do not know would show here first: the struct must hold what we passed.
            if (Marshal.PtrToStringUTF8(Marshal.ReadIntPtr(container, NameOffset)) != name
                || Marshal.PtrToStringUTF8(Marshal.ReadIntPtr(container, ConfigPathOffset)) != lxcPath)
            {
                return default;
            }
            return use(container);
        }
        finally
        {
            lxc_container_put(container);
        }
    }

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint lxc_container_new(string name, string configPath);

    [LibraryImport(Library)]
    private static partial int lxc_container_put(nint container);
}
