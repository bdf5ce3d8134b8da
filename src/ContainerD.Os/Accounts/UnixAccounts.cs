using Mono.Unix.Native;

namespace ContainerD.Os.Accounts;

/// <summary>Who a uid is, from the system's user and group database.</summary>
public static class UnixAccounts
{
    /// <summary>Root, or a user whose primary or supplementary group is the admin group.</summary>
    public static bool IsRootOrMember(uint uid, string group)
    {
        if (uid == 0)
        {
            return true;
        }
        Passwd? user = Syscall.getpwuid(uid);
        Group? admins = Syscall.getgrnam(group);
        if (user is null || admins is null)
        {
            return false;
        }
        return user.pw_gid == admins.gr_gid || admins.gr_mem.Contains(user.pw_name, StringComparer.Ordinal);
    }

    public static string Describe(uint uid) => Syscall.getpwuid(uid)?.pw_name is { } name ? $"{name} (uid {uid})" : $"uid {uid}";
}
