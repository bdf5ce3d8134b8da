using ContainerD.Contract;
using ContainerD.Daemon.Containers;
using ContainerD.Daemon.Jobs;
using ContainerD.Domain;
using Microsoft.Win32.SafeHandles;
using Tmds.DBus.Protocol;

namespace ContainerD.Daemon.Bus;

/// <summary>io.containerctl.ContainerD1.Manager: reads by name, and every change as a job.</summary>
public sealed class ManagerObject(BusContext bus, ContainerRegistry registry, ContainerRuntime runtime, Snapshots snapshots, Operations.Operations operations, JobManager jobs)
    : BusObject(Names.ManagerPath, Introspection.ManagerSpec, Introspection.Manager, bus)
{
    private readonly ContainerRegistry _registry = registry;
    private readonly JobManager _jobs = jobs;

    private readonly Dictionary<string, IManagerVerb> _verbs = operations.Verbs
        .SelectMany(verb => verb.Members.Select(member => (member, verb)))
        .ToDictionary(pair => pair.member, pair => pair.verb, StringComparer.Ordinal);

    /// <summary>The contract's members the Manager handles with these operations (a test holds them to the XML and to Wire).</summary>
    public static IEnumerable<string> HandledMembers(Operations.Operations operations) =>
        Reads.Keys.Concat(operations.Verbs.SelectMany(verb => verb.Members));

    /// <summary>Reads by name, answered at once; CancelJob, which acts on a job rather than a container, with them.</summary>
    private static readonly Dictionary<string, Func<ManagerObject, MethodContext, Task>> Reads = new(StringComparer.Ordinal)
    {
        [Wire.Manager.ListContainers] = static (self, context) => Done(() => self.ReplyContainers(context)),
        [Wire.Manager.GetContainer] = static (self, context) => Done(() =>
            ReplyObjectPath(context, Names.ContainerPath(self._registry.Get(Arguments(context).Name()).Name))),
        [Wire.Manager.ListGenerations] = static (self, context) => Done(() => self.ReplyGenerations(context, Arguments(context).Name())),
        [Wire.Manager.ListSnapshots] = static (self, context) => Done(() => self.ReplySnapshots(context, Arguments(context).Name())),
        [Wire.Manager.ListJobs] = static (self, context) => Done(() => self.ReplyJobs(context)),
        [Wire.Manager.GetJobStatistics] = static (self, context) => Done(() => StatisticsReply.Send(context, self._jobs.Statistics)),
        [Wire.Manager.CancelJob] = static async (self, context) =>
        {
            uint id = Arguments(context).UInt32();
            await self.Bus.RequireAdminAsync(context).ConfigureAwait(false);
            self._jobs.Get(id).Cancel();
            ReplyEmpty(context);
        },
    };

    protected override async Task HandleCallAsync(MethodContext context, string member)
    {
        if (Reads.TryGetValue(member, out var read))
        {
            await read(this, context).ConfigureAwait(false);
            return;
        }
        if (!_verbs.TryGetValue(member, out var verb))
        {
            throw new InvalidOperationException($"{member} is in the interface XML but has no handler");
        }
        // A change: read (and bound) the arguments, check the caller, then act.
        var (begin, handles) = Bind(verb, context);
        Job job;
        try
        {
            var caller = new Caller(await Bus.RequireAdminAsync(context).ConfigureAwait(false));
            job = await _jobs.OnBehalfOf(context.Request.SenderAsString, () => begin(caller)).ConfigureAwait(false);
        }
        catch
        {
            Close(handles);
            throw;
        }
        ReplyObjectPath(context, Names.JobPath(job.Id));
    }

    /// <summary>The verb's reading of the call; the descriptors that came with it close when no job takes them.</summary>
    private static (Func<Caller, ValueTask<Job>> Begin, IReadOnlyList<SafeFileHandle> Handles) Bind(IManagerVerb verb, MethodContext context)
    {
        var call = Arguments(context);
        try
        {
            return (verb.Bind(ref call), call.Handles);
        }
        catch
        {
            Close(call.Handles);
            throw;
        }
    }

    private static void Close(IReadOnlyList<SafeFileHandle> handles)
    {
        foreach (var handle in handles)
        {
            handle.Dispose();
        }
    }

    private static CallArguments Arguments(MethodContext context) => new(context.Request.MemberAsString ?? "", context.Request.GetBodyReader());

    private static Task Done(Action reply)
    {
        reply();
        return Task.CompletedTask;
    }

    private void ReplyContainers(MethodContext context)
    {
        var writer = context.CreateReplyWriter("a(ssuuuuo)");
        ArrayStart array = writer.WriteArrayStart(DBusType.Struct);
        foreach (var c in _registry.List())
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
        foreach (var g in runtime.Generations(name))
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

    private void ReplySnapshots(MethodContext context, string name)
    {
        var writer = context.CreateReplyWriter("a(stus)");
        ArrayStart array = writer.WriteArrayStart(DBusType.Struct);
        foreach (var s in snapshots.List(_registry.Get(name).Name))
        {
            writer.WriteStructureStart();
            writer.WriteText(s.Name);
            writer.WriteUInt64((ulong)(s.CreatedAt.ToUnixTimeMilliseconds() * 1000));
            writer.WriteUInt32((uint)s.Generation);
            writer.WriteText(s.SystemPath);
        }
        writer.WriteArrayEnd(array);
        context.Reply(writer.CreateMessage());
    }

    private void ReplyJobs(MethodContext context)
    {
        var writer = context.CreateReplyWriter("a(ussso)");
        ArrayStart array = writer.WriteArrayStart(DBusType.Struct);
        foreach (var job in _jobs.List())
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
