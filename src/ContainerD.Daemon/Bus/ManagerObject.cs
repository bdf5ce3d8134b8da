using ContainerD.Contract;
using ContainerD.Daemon.Containers;
using ContainerD.Daemon.Jobs;
using ContainerD.Domain;
using Tmds.DBus.Protocol;

namespace ContainerD.Daemon.Bus;

/// <summary>io.containerctl.ContainerD1.Manager: reads by name, and every change as a job.</summary>
public sealed class ManagerObject(BusContext bus, ContainerService containers, JobManager jobs)
    : BusObject(Names.ManagerPath, Names.ManagerInterface, Introspection.Manager, bus)
{
    protected override async Task<bool> HandleCallAsync(MethodContext context, string member, string signature)
    {
        var reader = context.Request.GetBodyReader();
        switch (member, signature)
        {
            case ("ListContainers", ""):
                ReplyContainers(context);
                return true;
            case ("GetContainer", "s"):
                ReplyObjectPath(context, Names.ContainerPath(containers.Get(reader.ReadString()).Name));
                return true;
            case ("ListGenerations", "s"):
                ReplyGenerations(context, reader.ReadString());
                return true;
            case ("ListJobs", ""):
                ReplyJobs(context);
                return true;
        }

        // Everything below changes something.
        Func<Job>? start = (member, signature) switch
        {
            ("CreateContainer", "ss") => () => containers.Create(reader.ReadString(), reader.ReadString()),
            ("StartContainer", "s") => () => containers.Start(reader.ReadString()),
            ("StopContainer", "sb") => () => containers.Stop(reader.ReadString(), reader.ReadBool()),
            ("RestartContainer", "s") => () => containers.Restart(reader.ReadString()),
            ("DestroyContainer", "s") => () => containers.Destroy(reader.ReadString()),
            _ => null,
        };
        if (start is not null)
        {
            await Bus.RequireAdminAsync(context).ConfigureAwait(false);
            ReplyObjectPath(context, Names.JobPath(start().Id));
            return true;
        }
        if ((member, signature) == ("CancelJob", "u"))
        {
            uint id = reader.ReadUInt32();
            await Bus.RequireAdminAsync(context).ConfigureAwait(false);
            jobs.Get(id).Cancel();
            ReplyEmpty(context);
            return true;
        }
        return false;
    }

    private void ReplyContainers(MethodContext context)
    {
        var writer = context.CreateReplyWriter("a(ssuuuuo)");
        ArrayStart array = writer.WriteArrayStart(DBusType.Struct);
        foreach (var c in containers.List())
        {
            writer.WriteStructureStart();
            writer.WriteString(c.Name);
            writer.WriteString(c.RunState.ToWire());
            writer.WriteUInt32((uint)c.LeaderPid);
            writer.WriteUInt32((uint)c.State.UidBase);
            writer.WriteUInt32((uint)c.State.UidSize);
            writer.WriteUInt32((uint)c.State.Generation);
            writer.WriteObjectPath(Names.ContainerPath(c.Name));
        }
        writer.WriteArrayEnd(array);
        context.Reply(writer.CreateMessage());
    }

    private void ReplyGenerations(MethodContext context, string name)
    {
        var writer = context.CreateReplyWriter("a(utsb)");
        ArrayStart array = writer.WriteArrayStart(DBusType.Struct);
        foreach (var g in containers.Generations(name))
        {
            writer.WriteStructureStart();
            writer.WriteUInt32((uint)g.Number);
            writer.WriteUInt64((ulong)(g.CreatedAt.ToUnixTimeMilliseconds() * 1000));
            writer.WriteString(g.StorePath);
            writer.WriteBool(g.Current);
        }
        writer.WriteArrayEnd(array);
        context.Reply(writer.CreateMessage());
    }

    private void ReplyJobs(MethodContext context)
    {
        var writer = context.CreateReplyWriter("a(ussso)");
        ArrayStart array = writer.WriteArrayStart(DBusType.Struct);
        foreach (var job in jobs.List())
        {
            writer.WriteStructureStart();
            writer.WriteUInt32(job.Id);
            writer.WriteString(job.Container);
            writer.WriteString(job.Operation);
            writer.WriteString(job.State);
            writer.WriteObjectPath(Names.JobPath(job.Id));
        }
        writer.WriteArrayEnd(array);
        context.Reply(writer.CreateMessage());
    }
}
