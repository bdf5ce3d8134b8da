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
    private readonly Operations.Operations _operations = operations;
    private readonly JobManager _jobs = jobs;

    /// <summary>The contract's members this object handles (a test holds them to the XML and to Wire).</summary>
    public static IEnumerable<string> HandledMembers => Reads.Keys.Concat(Changes.Keys);

    /// <summary>Reads by name, answered at once; CancelJob, which acts on a job rather than a container, with them.</summary>
    private static readonly Dictionary<string, Func<ManagerObject, MethodContext, Task>> Reads = new(StringComparer.Ordinal)
    {
        [Wire.Manager.ListContainers] = static (self, context) => Done(() => self.ReplyContainers(context)),
        [Wire.Manager.GetContainer] = static (self, context) => Done(() =>
        {
            var reader = context.Request.GetBodyReader();
            ReplyObjectPath(context, Names.ContainerPath(self._registry.Get(ReadName(ref reader)).Name));
        }),
        [Wire.Manager.ListGenerations] = static (self, context) => Done(() =>
        {
            var reader = context.Request.GetBodyReader();
            self.ReplyGenerations(context, ReadName(ref reader));
        }),
        [Wire.Manager.ListSnapshots] = static (self, context) => Done(() =>
        {
            var reader = context.Request.GetBodyReader();
            self.ReplySnapshots(context, ReadName(ref reader));
        }),
        [Wire.Manager.ListJobs] = static (self, context) => Done(() => self.ReplyJobs(context)),
        [Wire.Manager.GetJobStatistics] = static (self, context) => Done(() => StatisticsReply.Send(context, self._jobs.Statistics)),
        // A change, but its job's container is named by the archive: the manifest is read first (at most 30 s).
        [Wire.Manager.ImportContainer] = static async (self, context) =>
        {
            var reader = context.Request.GetBodyReader();
            var archive = reader.ReadHandle<SafeFileHandle>() ?? throw new ContainerDException(ErrorKind.InvalidArgs, "no file descriptor came with the call");
            try
            {
                string name = reader.ReadString();
                name = name.Length == 0 ? name : ContainerName.Require(name);
                var caller = new Caller(await self.Bus.RequireAdminAsync(context).ConfigureAwait(false));
                var job = await self._jobs.OnBehalfOf(context.Request.SenderAsString, () => self._operations.Import.BeginAsync(archive, name, caller)).ConfigureAwait(false);
                ReplyObjectPath(context, Names.JobPath(job.Id));
            }
            catch
            {
                archive.Dispose();
                throw;
            }
        },
        [Wire.Manager.CancelJob] = static async (self, context) =>
        {
            uint id = context.Request.GetBodyReader().ReadUInt32();
            await self.Bus.RequireAdminAsync(context).ConfigureAwait(false);
            self._jobs.Get(id).Cancel();
            ReplyEmpty(context);
        },
    };

    /// <summary>Reads (and bounds) a change's arguments; the change itself runs as a job on behalf of its caller.</summary>
    private delegate Func<Caller, Job> ChangeReader(Operations.Operations operations, ref Reader reader);

    private static readonly Dictionary<string, ChangeReader> Changes = new(StringComparer.Ordinal)
    {
        [Wire.Manager.CreateContainer] = static (Operations.Operations operations, ref Reader reader) =>
        {
            string name = ReadName(ref reader), yaml = ReadDefinition(ref reader);
            return caller => operations.Create.Begin(name, yaml, caller);
        },
        [Wire.Manager.StartContainer] = static (Operations.Operations operations, ref Reader reader) =>
        {
            string name = ReadName(ref reader);
            return _ => operations.Start.Begin(name);
        },
        [Wire.Manager.StopContainer] = static (Operations.Operations operations, ref Reader reader) =>
        {
            string name = ReadName(ref reader);
            bool force = reader.ReadBool();
            return _ => operations.Stop.Begin(name, force);
        },
        [Wire.Manager.StopContainerWithTimeout] = static (Operations.Operations operations, ref Reader reader) =>
        {
            string name = ReadName(ref reader);
            bool force = reader.ReadBool();
            uint seconds = reader.ReadUInt32();
            if (seconds > Limits.StopTimeoutSeconds)
            {
                throw new ContainerDException(ErrorKind.InvalidArgs,
                    $"a stop timeout of {seconds} s is out of range: give 0 to {Limits.StopTimeoutSeconds} seconds (a day)");
            }
            return _ => operations.Stop.Begin(name, force, TimeSpan.FromSeconds(seconds));
        },
        [Wire.Manager.RestartContainer] = static (Operations.Operations operations, ref Reader reader) =>
        {
            string name = ReadName(ref reader);
            return _ => operations.Restart.Begin(name);
        },
        [Wire.Manager.UpdateContainer] = static (Operations.Operations operations, ref Reader reader) =>
        {
            string name = ReadName(ref reader), yaml = ReadDefinition(ref reader);
            return caller => operations.Update.Begin(name, yaml, caller);
        },
        [Wire.Manager.RollbackContainer] = static (Operations.Operations operations, ref Reader reader) =>
        {
            string name = ReadName(ref reader);
            uint generation = reader.ReadUInt32();
            return _ => operations.Rollback.Begin(name, generation);
        },
        [Wire.Manager.DeleteGenerations] = static (Operations.Operations operations, ref Reader reader) =>
        {
            string name = ReadName(ref reader), which = ReadWord(ref reader, "the generation selector");
            return _ => operations.DeleteGenerations.Begin(name, which);
        },
        [Wire.Manager.SnapshotContainer] = static (Operations.Operations operations, ref Reader reader) =>
        {
            string name = ReadName(ref reader), snapshot = ReadSnapshotName(ref reader);
            return _ => operations.Snapshot.Begin(name, snapshot);
        },
        [Wire.Manager.RestoreSnapshot] = static (Operations.Operations operations, ref Reader reader) =>
        {
            string name = ReadName(ref reader), snapshot = ReadSnapshotName(ref reader);
            return _ => operations.Restore.Begin(name, snapshot);
        },
        [Wire.Manager.DeleteSnapshot] = static (Operations.Operations operations, ref Reader reader) =>
        {
            string name = ReadName(ref reader), snapshot = ReadSnapshotName(ref reader);
            return _ => operations.DeleteSnapshot.Begin(name, snapshot);
        },
        [Wire.Manager.ResetContainer] = static (Operations.Operations operations, ref Reader reader) =>
        {
            string name = ReadName(ref reader);
            return _ => operations.Reset.Begin(name);
        },
        [Wire.Manager.ExportContainer] = static (Operations.Operations operations, ref Reader reader) =>
        {
            string name = ReadName(ref reader);
            var archive = reader.ReadHandle<SafeFileHandle>() ?? throw new ContainerDException(ErrorKind.InvalidArgs, "no file descriptor came with the call");
            var options = ReadOptions(ref reader, ExportOptions.Keys);
            return _ => operations.Export.Begin(name, archive, options.GetValueOrDefault(ExportOptions.AllGenerations, false),
                options.GetValueOrDefault(ExportOptions.Closure, true));
        },
        [Wire.Manager.DestroyContainer] = static (Operations.Operations operations, ref Reader reader) =>
        {
            string name = ReadName(ref reader);
            return _ => operations.Destroy.Begin(name);
        },
    };

    protected override async Task HandleCallAsync(MethodContext context, string member)
    {
        if (Reads.TryGetValue(member, out var read))
        {
            await read(this, context).ConfigureAwait(false);
            return;
        }
        if (!Changes.TryGetValue(member, out var readChange))
        {
            throw new InvalidOperationException($"{member} is in the interface XML but has no handler");
        }
        // A change: read (and bound) the arguments, check the caller, then act.
        var reader = context.Request.GetBodyReader();
        Func<Caller, Job> change = readChange(_operations, ref reader);
        var caller = new Caller(await Bus.RequireAdminAsync(context).ConfigureAwait(false));
        var job = _jobs.OnBehalfOf(context.Request.SenderAsString, () => change(caller));
        ReplyObjectPath(context, Names.JobPath(job.Id));
    }

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
