using ContainerD.Contract;
using ContainerD.Daemon.Jobs;
using Tmds.DBus.Protocol;

namespace ContainerD.Daemon.Bus;

/// <summary>Manager.GetJobStatistics() → ad bounds, a(sstdat) statistics: the job counters as they are now.</summary>
public static class StatisticsReply
{
    public static void Send(MethodContext context, JobStatistics statistics)
    {
        var writer = context.CreateReplyWriter(Wire.Of(Wire.Manager.GetJobStatistics).Out);
        writer.WriteArray(JobStatistics.Bounds.ToArray());
        ArrayStart rows = writer.WriteArrayStart(DBusType.Struct);
        foreach (var row in statistics.Snapshot())
        {
            writer.WriteStructureStart();
            writer.WriteText(row.Operation);
            writer.WriteText(row.Result);
            writer.WriteUInt64(row.Count);
            writer.WriteDouble(row.Seconds);
            writer.WriteArray(row.Buckets);
        }
        writer.WriteArrayEnd(rows);
        context.Reply(writer.CreateMessage());
    }
}
