using ContainerD.Contract;
using ContainerD.Domain;

namespace ContainerD.Tests.Contract;

/// <summary>One table: error kind → D-Bus name → exit code, row by row, and every kind of the daemon in it.</summary>
public sealed class ErrorTableTests
{
    public static TheoryData<string, string, int> Rows => new()
    {
        { "Failed", "io.containerctl.ContainerD1.Error.Failed", 1 },
        { "InvalidName", "io.containerctl.ContainerD1.Error.InvalidName", 2 },
        { "InvalidDefinition", "io.containerctl.ContainerD1.Error.InvalidDefinition", 2 },
        { "InvalidArgs", "org.freedesktop.DBus.Error.InvalidArgs", 2 },
        { "NoSuchContainer", "io.containerctl.ContainerD1.Error.NoSuchContainer", 3 },
        { "NoSuchJob", "io.containerctl.ContainerD1.Error.NoSuchJob", 3 },
        { "NoSuchGeneration", "io.containerctl.ContainerD1.Error.NoSuchGeneration", 3 },
        { "NoSuchSnapshot", "io.containerctl.ContainerD1.Error.NoSuchSnapshot", 3 },
        { "AlreadyExists", "io.containerctl.ContainerD1.Error.AlreadyExists", 6 },
        { "Busy", "io.containerctl.ContainerD1.Error.Busy", 6 },
        { "Declarative", "io.containerctl.ContainerD1.Error.Declarative", 6 },
        { "AccessDenied", "io.containerctl.ContainerD1.Error.AccessDenied", 4 },
        { "BusAccessDenied", "org.freedesktop.DBus.Error.AccessDenied", 4 },
        { "BuildFailed", "io.containerctl.ContainerD1.Error.BuildFailed", 1 },
        { "StartFailed", "io.containerctl.ContainerD1.Error.StartFailed", 1 },
        { "StopFailed", "io.containerctl.ContainerD1.Error.StopFailed", 1 },
        { "ActivationFailed", "io.containerctl.ContainerD1.Error.ActivationFailed", 1 },
        { "NoFreeRange", "io.containerctl.ContainerD1.Error.NoFreeRange", 1 },
        { "NotRunning", "io.containerctl.ContainerD1.Error.NotRunning", 1 },
        { "OutputTooLarge", "io.containerctl.ContainerD1.Error.OutputTooLarge", 1 },
        { "Canceled", "io.containerctl.ContainerD1.Error.Canceled", 1 },
        { "HostUnsupported", "io.containerctl.ContainerD1.Error.HostUnsupported", 7 },
        { "UnknownMethod", "org.freedesktop.DBus.Error.UnknownMethod", 2 },
        { "UnknownObject", "org.freedesktop.DBus.Error.UnknownObject", 3 },
        { "UnknownInterface", "org.freedesktop.DBus.Error.UnknownInterface", 2 },
        { "UnknownProperty", "org.freedesktop.DBus.Error.UnknownProperty", 2 },
        { "PropertyReadOnly", "org.freedesktop.DBus.Error.PropertyReadOnly", 2 },
        { "ServiceUnknown", "org.freedesktop.DBus.Error.ServiceUnknown", 5 },
        { "NameHasNoOwner", "org.freedesktop.DBus.Error.NameHasNoOwner", 5 },
    };

    [Theory]
    [MemberData(nameof(Rows))]
    public void Each_kind_has_its_name_and_exit_code(string kind, string dbusName, int exitCode)
    {
        Assert.Equal(dbusName, Errors.NameOf(kind));
        Assert.Equal(exitCode, Errors.ExitCodeOf(dbusName));
        Assert.Equal(kind, Errors.KindOf(dbusName));
    }

    [Fact]
    public void The_table_is_exactly_these_rows_and_holds_every_ErrorKind()
    {
        Assert.Equal(Rows.Select(r => (string)r[0]).Order(), Errors.Table.Select(r => r.Kind).Order());
        foreach (var kind in Enum.GetNames<ErrorKind>())
        {
            Assert.Contains(Errors.Table, r => r.Kind == kind);
        }
        Assert.Equal(1, Errors.ExitCodeOf("com.example.Unheard.Of"));
    }
}
