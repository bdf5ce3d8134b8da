using Tmds.DBus.Protocol;

namespace ContainerD.Contract;

/// <summary>Turns "system", "session" or a D-Bus address into an address to connect to.</summary>
public static class BusAddress
{
    public static string Resolve(string bus) => bus switch
    {
        "system" => DBusAddress.System ?? "unix:path=/run/dbus/system_bus_socket",
        "session" => DBusAddress.Session ?? throw new InvalidOperationException("no session bus: DBUS_SESSION_BUS_ADDRESS is not set"),
        _ => bus,
    };

    /// <summary>How to name the bus to a person in an error message.</summary>
    public static string Describe(string bus) => bus is "system" or "session" ? $"the {bus} bus" : $"the bus at {bus}";
}
