using ContainerD.Domain;
using ContainerD.Domain.Lxc;
using ContainerD.Os;
using ContainerD.Os.Filesystem;

namespace ContainerD.Daemon;

/// <summary>
/// containerctld lxc-hook mount|unmount PLANFILE [NAME lxc HOOKTYPE]: what LXC runs, as root in
/// the host's namespaces, before it makes the container's namespaces (mount: the plan's mounts,
/// below the rootfs) and once they are set up (unmount: the host's copies; the container keeps its
/// own, locked) — so that an lxc-start run by hand gets the locked mounts too. The daemon's own
/// starts make the same mounts in the daemon and skip the hooks (LxcTool.StartAsync). A failure's
/// message goes to PLANFILE.error for whoever ran lxc-start: LXC keeps a hook's output only at debug level.
/// </summary>
public static class LxcHookCommand
{
    public const string Verb = "lxc-hook";

    /// <summary>The program LXC should run: this binary (NativeAOT), or its apphost beside the assemblies when run by dotnet.</summary>
    public static string Program =>
        Environment.ProcessPath is { } path && Path.GetFileName(path) == "containerctld" ? path : Path.Combine(AppContext.BaseDirectory, "containerctld");

    private static string ErrorFile(string planFile) => planFile + ".error";

    public static int Run(string[] args)
    {
        if (args is not [Verb, "mount" or "unmount", var planFile, ..])
        {
            Console.Error.WriteLine($"usage: containerctld {Verb} mount|unmount PLANFILE");
            return 2;
        }
        try
        {
            var (rootfs, ids, mounts, ephemeral) = MountPlan.Parse(File.ReadAllText(planFile));
            if (args[1] == "mount")
            {
                File.Delete(ErrorFile(planFile));
                HostMounts.Unmount(rootfs); // what a crashed start left
                if (!HostMounts.Mount(rootfs, mounts, ids, ephemeral))
                {
                    Console.WriteLine("the store cannot be idmapped here: mounted plain and read-only, owned by nobody inside");
                }
            }
            else
            {
                HostMounts.Unmount(rootfs);
            }
            return 0;
        }
        catch (Exception e) when (e is ContainerDException or IOException or System.ComponentModel.Win32Exception or UnauthorizedAccessException)
        {
            AtomicFile.Write(ErrorFile(planFile), e.Message + "\n", UnixFileMode.UserRead | UnixFileMode.UserWrite);
            Console.Error.WriteLine($"containerctld {Verb}: {e.Message}");
            return 1;
        }
    }
}
