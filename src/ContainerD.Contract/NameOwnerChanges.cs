using Tmds.DBus.Protocol;

namespace ContainerD.Contract;

/// <summary>
/// The bus's NameOwnerChanged signal for one name: how the client notices the daemon going away
/// and the daemon notices a caller leaving. Named once, for both.
/// </summary>
public static class NameOwnerChanges
{
    public static MatchRule For(string name) => new()
    {
        Type = MessageType.Signal,
        Sender = "org.freedesktop.DBus",
        Path = "/org/freedesktop/DBus",
        Interface = "org.freedesktop.DBus",
        Member = "NameOwnerChanged",
        Arg0 = name,
    };

    /// <summary>The signal's body (name, old owner, new owner) without the name; empty owner means none.</summary>
    public static (string Old, string New) ReadOwners(Message message, object? _)
    {
        var reader = message.GetBodyReader();
        reader.ReadString();
        return (reader.ReadString(), reader.ReadString());
    }
}
