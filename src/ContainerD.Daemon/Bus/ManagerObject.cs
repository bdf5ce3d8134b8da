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
        switch (member, signature)
        {
            case ("ListContainers", ""):
                ReplyContainers(context);
                return true;
            case ("GetContainer", "s"):
                ReplyObjectPath(context, Names.ContainerPath(containers.Get(context.Request.GetBodyReader().ReadString()).Name));
                return true;
            case ("ListGenerations", "s"):
                ReplyGenerations(context, context.Request.GetBodyReader().ReadString());
                return true;
            case ("ListJobs", ""):
                ReplyJobs(context);
                return true;
        }

        // Everything below changes something: read the arguments, check the caller, then act.
        Func<Job>? change = ReadChange(context.Request, member, signature);
        if (change is not null)
        {
            await Bus.RequireAdminAsync(context).ConfigureAwait(false);
            ReplyObjectPath(context, Names.JobPath(change().Id));
            return true;
        }
        if ((member, signature) == ("CancelJob", "u"))
        {
            uint id = context.Request.GetBodyReader().ReadUInt32();
            await Bus.RequireAdminAsync(context).ConfigureAwait(false);
            jobs.Get(id).Cancel();
            ReplyEmpty(context);
            return true;
        }
        return false;
    }

    /// <summary>The change a call asks for, with its arguments read; null when it is no change.</summary>
    private Func<Job>? ReadChange(Message request, string member, string signature)
    {
        var reader = request.GetBodyReader();
        switch (member, signature)
        {
            case ("CreateContainer", "ss"):
            {
                string name = reader.ReadString(), yaml = reader.ReadString();
                return () => containers.Create(name, yaml);
            }
            case ("StartContainer", "s"):
            {
                string name = reader.ReadString();
                return () => containers.Start(name);
            }
            case ("StopContainer", "sb"):
            {
                string name = reader.ReadString();
                bool force = reader.ReadBool();
                return () => containers.Stop(name, force);
            }
            case ("StopContainerWithTimeout", "sbu"):
            {
                string name = reader.ReadString();
                bool force = reader.ReadBool();
                uint seconds = reader.ReadUInt32();
                return () => containers.Stop(name, force, TimeSpan.FromSeconds(seconds));
            }
            case ("RestartContainer", "s"):
            {
                string name = reader.ReadString();
                return () => containers.Restart(name);
            }
            case ("UpdateContainer", "ss"):
            {
                string name = reader.ReadString(), yaml = reader.ReadString();
                return () => containers.Update(name, yaml);
            }
            case ("RollbackContainer", "su"):
            {
                string name = reader.ReadString();
                uint generation = reader.ReadUInt32();
                return () => containers.Rollback(name, checked((int)generation));
            }
            case ("DeleteGenerations", "ss"):
            {
                string name = reader.ReadString(), which = reader.ReadString();
                return () => containers.DeleteGenerations(name, which);
            }
            case ("DestroyContainer", "s"):
            {
                string name = reader.ReadString();
                return () => containers.Destroy(name);
            }
            default:
                return null;
        }
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
