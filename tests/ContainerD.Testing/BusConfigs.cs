namespace ContainerD.Testing;

/// <summary>dbus-daemon configurations for tests where other users connect.</summary>
public static class BusConfigs
{
    /// <summary>A directory every user can reach, for a bus socket.</summary>
    public static string SharedDir()
    {
        string dir = Path.Combine(Path.GetTempPath(), "ctd-bus-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        File.SetUnixFileMode(dir, (UnixFileMode)0b111_101_101);
        return dir;
    }

    /// <summary>
    /// A bus with no policy at all: every user may call anything — only the daemon's own check stands.
    /// extraRules go into its default policy (e.g. a deny own= to test a name the policy refuses).
    /// </summary>
    public static string Open(string dir, string extraRules = "") => Write(dir, "open.conf", $"""
        <busconfig>
          <type>custom</type>
          <listen>unix:path={dir}/bus</listen>
          <auth>EXTERNAL</auth>
          <policy context="default">
            <allow user="*"/>
            <allow own="*"/>
            {extraRules}
            <allow send_destination="*" eavesdrop="true"/>
            <allow eavesdrop="true"/>
          </policy>
        </busconfig>
        """);

    /// <summary>A system bus as Debian configures it, with the repository's ContainerD policy file included.</summary>
    public static string SystemWithRepoPolicy(string dir) => Write(dir, "system.conf", $"""
        <busconfig>
          <type>system</type>
          <listen>unix:path={dir}/bus</listen>
          <auth>EXTERNAL</auth>
          <policy context="default">
            <allow user="*"/>
            <deny own="*"/>
            <deny send_type="method_call"/>
            <allow send_type="signal"/>
            <allow send_requested_reply="true" send_type="method_return"/>
            <allow send_requested_reply="true" send_type="error"/>
            <allow receive_type="method_call"/>
            <allow receive_type="method_return"/>
            <allow receive_type="error"/>
            <allow receive_type="signal"/>
            <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
            <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
          </policy>
          <include>{Path.Combine(Repo.Root, "systemd", "io.containerctl.ContainerD1.conf")}</include>
        </busconfig>
        """);

    private static string Write(string dir, string name, string text)
    {
        string file = Path.Combine(dir, name);
        File.WriteAllText(file, text);
        return file;
    }
}
