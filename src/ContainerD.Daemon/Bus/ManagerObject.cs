using ContainerD.Contract;
using ContainerD.Daemon.Containers;
using ContainerD.Daemon.Jobs;
using ContainerD.Domain;
using Tmds.DBus.Protocol;

namespace ContainerD.Daemon.Bus;

/// <summary>io.containerctl.ContainerD1.Manager: reads by name, and every change as a job.</summary>
public sealed class ManagerObject(BusContext bus, ContainerService containers, JobManager jobs)
    : BusObject(Names.ManagerPath, Introspection.ManagerSpec, Introspection.Manager, bus)
{
    protected override async Task HandleCallAsync(MethodContext context, string member)
    {
        switch (member)
        {
            case "ListContainers":
                ReplyContainers(context);
                return;
            case "GetContainer":
            {
                var reader = context.Request.GetBodyReader();
                ReplyObjectPath(context, Names.ContainerPath(containers.Get(ReadName(ref reader)).Name));
                return;
            }
            case "ListGenerations":
            {
                var reader = context.Request.GetBodyReader();
                ReplyGenerations(context, ReadName(ref reader));
                return;
            }
            case "ListJobs":
                ReplyJobs(context);
                return;
            case "CancelJob":
            {
                uint id = context.Request.GetBodyReader().ReadUInt32();
                await Bus.RequireAdminAsync(context).ConfigureAwait(false);
                jobs.Get(id).Cancel();
                ReplyEmpty(context);
                return;
            }
        }

        // Everything else changes something: read (and bound) the arguments, check the caller, then act.
        Func<Caller, Job> change = ReadChange(context.Request, member);
        var caller = new Caller(await Bus.RequireAdminAsync(context).ConfigureAwait(false));
        var job = jobs.OnBehalfOf(context.Request.SenderAsString, () => change(caller));
        ReplyObjectPath(context, Names.JobPath(job.Id));
    }

    /// <summary>The change a call asks for, with its arguments read and checked.</summary>
    private Func<Caller, Job> ReadChange(Message request, string member)
    {
        var reader = request.GetBodyReader();
        switch (member)
        {
            case "CreateContainer":
            {
                string name = ReadName(ref reader), yaml = ReadDefinition(ref reader);
                return caller => containers.Create(name, yaml, caller);
            }
            case "StartContainer":
            {
                string name = ReadName(ref reader);
                return _ => containers.Start(name);
            }
            case "StopContainer":
            {
                string name = ReadName(ref reader);
                bool force = reader.ReadBool();
                return _ => containers.Stop(name, force);
            }
            case "StopContainerWithTimeout":
            {
                string name = ReadName(ref reader);
                bool force = reader.ReadBool();
                uint seconds = reader.ReadUInt32();
                if (seconds > Limits.StopTimeoutSeconds)
                {
                    throw new ContainerDException(ErrorKind.InvalidArgs,
                        $"a stop timeout of {seconds} s is out of range: give 0 to {Limits.StopTimeoutSeconds} seconds (a day)");
                }
                return _ => containers.Stop(name, force, TimeSpan.FromSeconds(seconds));
            }
            case "RestartContainer":
            {
                string name = ReadName(ref reader);
                return _ => containers.Restart(name);
            }
            case "UpdateContainer":
            {
                string name = ReadName(ref reader), yaml = ReadDefinition(ref reader);
                return caller => containers.Update(name, yaml, caller);
            }
            case "RollbackContainer":
            {
                string name = ReadName(ref reader);
                uint generation = reader.ReadUInt32();
                return _ => containers.Rollback(name, generation);
            }
            case "DeleteGenerations":
            {
                string name = ReadName(ref reader), which = ReadWord(ref reader, "the generation selector");
                return _ => containers.DeleteGenerations(name, which);
            }
            case "DestroyContainer":
            {
                string name = ReadName(ref reader);
                return _ => containers.Destroy(name);
            }
            default:
                throw new InvalidOperationException($"{member} is in the interface XML but has no handler");
        }
    }

    private void ReplyContainers(MethodContext context)
    {
        var writer = context.CreateReplyWriter("a(ssuuuuo)");
        ArrayStart array = writer.WriteArrayStart(DBusType.Struct);
        foreach (var c in containers.List())
        {
            writer.WriteStructureStart();
            writer.WriteText(c.Name);
            writer.WriteText(c.RunState.ToWire());
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
            writer.WriteText(g.StorePath);
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
            writer.WriteText(job.Container);
            writer.WriteText(job.Operation);
            writer.WriteText(job.State);
            writer.WriteObjectPath(Names.JobPath(job.Id));
        }
        writer.WriteArrayEnd(array);
        context.Reply(writer.CreateMessage());
    }
}
