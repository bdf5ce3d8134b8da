using ContainerD.Contract;
using ContainerD.Daemon.Jobs;
using Tmds.DBus.Protocol;

namespace ContainerD.Daemon.Bus;

/// <summary>io.containerctl.ContainerD1.Job: exists while the job runs.</summary>
public sealed class JobObject(BusContext bus, Job job)
    : BusObject(Names.JobPath(job.Id), Introspection.JobSpec, Introspection.Job, bus)
{
    protected override Dictionary<string, VariantValue> Properties() => new()
    {
        ["Id"] = job.Id,
        ["Container"] = job.Container,
        ["Operation"] = job.Operation,
        ["State"] = job.State,
    };

    /// <summary>The contract's members this object handles (a test holds them to the XML and to Wire).</summary>
    public static IEnumerable<string> HandledMembers { get; } = [Wire.Job.Cancel];

    protected override async Task HandleCallAsync(MethodContext context, string member)
    {
        if (member != Wire.Job.Cancel)
        {
            throw new InvalidOperationException($"{member} is in the interface XML but has no handler");
        }
        await Bus.RequireAdminAsync(context).ConfigureAwait(false);
        job.Cancel();
        ReplyEmpty(context);
    }
}
