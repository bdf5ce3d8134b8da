namespace ContainerD.Daemon.Containers;

/// <summary>
/// Who asked for a change (the D-Bus caller's uid). Root may do anything; another caller (a member
/// of the admin group) is confined: bind sources under bindSourceRoots, Nix files evaluated in
/// restricted mode from a copy read with its own rights. The daemon's own changes (declarative
/// definitions, written by root) are root's.
/// </summary>
public sealed record Caller(uint Uid)
{
    public static Caller Root { get; } = new(0);
    public bool IsRoot => Uid == 0;
}
