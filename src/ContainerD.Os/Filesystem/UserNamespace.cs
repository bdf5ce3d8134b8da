using System.Diagnostics;
using ContainerD.Domain.IdMapping;
using Microsoft.Win32.SafeHandles;

namespace ContainerD.Os.Filesystem;

/// <summary>
/// A user namespace carrying a container's id mapping, as an fd, for mount_setattr(MOUNT_ATTR_IDMAP).
/// A namespace needs a process: a helper (unshare --user, then cat waiting on its stdin) lives for
/// as long as it takes to write its maps and open its namespace, as LXC and systemd do with a child.
/// The daemon writes the maps itself: root may map any host range.
/// </summary>
internal static class UserNamespace
{
    public static SafeFileHandle Open(IdRange ids)
    {
        var startInfo = new ProcessStartInfo("unshare", ["--user", "--", "cat"])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var helper = Process.Start(startInfo) ?? throw new IOException("cannot start unshare");
        try
        {
            string? ours = new FileInfo("/proc/self/ns/user").LinkTarget;
            var deadline = Stopwatch.StartNew();
            while (new FileInfo($"/proc/{helper.Id}/ns/user").LinkTarget is var theirs && (theirs is null || theirs == ours))
            {
                if (helper.HasExited || deadline.Elapsed > TimeSpan.FromSeconds(10))
                {
                    throw new IOException($"unshare --user did not make a user namespace: {(helper.HasExited ? helper.StandardError.ReadToEnd().Trim() : "timed out")}");
                }
                Thread.Sleep(1);
            }
            string map = $"0 {ids.Start} {ids.Count}\n";
            foreach (string file in new[] { "uid_map", "gid_map" })
            {
                // One write(2), as the kernel wants for these files.
                using var handle = File.OpenHandle($"/proc/{helper.Id}/{file}", FileMode.Open, FileAccess.Write);
                RandomAccess.Write(handle, System.Text.Encoding.ASCII.GetBytes(map), 0);
            }
            return Native.Openat(null, Native.Z($"/proc/{helper.Id}/ns/user"), Native.ORdonly);
        }
        finally
        {
            helper.StandardInput.Close();
            if (!helper.WaitForExit(5000))
            {
                helper.Kill();
                helper.WaitForExit();
            }
        }
    }
}
