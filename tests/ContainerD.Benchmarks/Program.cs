using ContainerD.Benchmarks;

// ContainerD against raw LXC (and LXD with --with-lxd), in one run on one machine, with equivalent
// containers. Prints a Markdown report; --output also writes it into a file (between its results
// markers, so the prose around them stays). --quick: small counts
// and few repetitions (under a minute), as the test suite runs it: it fails on errors, never on timing.
string[] known = ["--quick", "--with-lxd", "--usage", "--output"];
if (args.Any(a => a.StartsWith('-') && !known.Contains(a)) || (args.Contains("--output") && args[^1] == "--output"))
{
    Console.Error.WriteLine("usage: ContainerD.Benchmarks [--quick] [--with-lxd | --usage] [--output FILE]");
    return 2;
}
bool quick = args.Contains("--quick");
bool withLxd = args.Contains("--with-lxd");
// --usage: only what GetUsage and metrics scrapes cost (and the containers they need), into their own part of the report.
bool usageOnly = args.Contains("--usage");
string? output = args.SkipWhile(a => a != "--output").Skip(1).FirstOrDefault();
var plan = quick ? Plan.Quick : Plan.Full;

Measurements measured;
await using (var bench = await Bench.StartAsync())
{
    await using var lxd = withLxd && !usageOnly ? await Lxd.StartAsync(Path.Combine(bench.Daemon.Dir, "lxd"), bench.System) : null;
    measured = new Measurements(bench, lxd, plan);
    await measured.PrepareAsync();
    if (usageOnly)
    {
        await measured.UsageOnlyAsync();
    }
    else
    {
        await measured.StartAndStopAsync();
        await measured.SystemdBootAsync();
        await measured.RunTrueAsync();
        await measured.CreateAndDestroyAsync();
        await measured.UpdateAsync();
        await measured.EventLatencyAsync();
        // The first list size comes before the concurrent starts, which need their own stopped containers.
        await measured.ListAsync(plan.ListSizes[0]);
        await measured.ReadoptionAsync(plan.ListSizes[0]);
        await measured.ConcurrentStartAsync();
        await measured.BootStormAsync();
        foreach (int size in plan.ListSizes.Skip(1))
        {
            await measured.ListAsync(size);
            await measured.ReadoptionAsync(size);
        }
        await measured.CyclesAsync();
        await measured.BulkOutputAsync();
        await new ArchiveMeasurements(bench, quick, measured.Rows, measured.Notes).RunAsync();
        await measured.RemoteAsync();
    }
}

string command = "./bench.sh" + (quick ? " --quick" : "") + (withLxd && !usageOnly ? " --with-lxd" : "") + (usageOnly ? " --usage" : "");
// The usage part of a whole run says which run it belongs to; alone, it has the run's header itself.
string usage = (usageOnly ? Report.Header(command) : $"Measured in the same run as the results above (`{command}`).\n\n")
    + Report.Table(measured.Usage.Rows, measured.Usage.Notes);
string report = usageOnly ? "" : Report.Markdown(measured.Rows, measured.Notes, command);
Console.Out.Write(usageOnly ? usage : report + "\n" + usage);
if (output is not null)
{
    if (!usageOnly)
    {
        await Report.WriteIntoAsync(output, report, Report.Results);
    }
    await Report.WriteIntoAsync(output, usage, Report.UsageResults);
}
return 0;
