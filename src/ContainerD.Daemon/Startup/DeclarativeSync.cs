using ContainerD.Daemon.Containers;
using ContainerD.Daemon.Jobs;
using ContainerD.Domain;
using ContainerD.Domain.Configuration;
using ContainerD.Domain.Definitions;
using ContainerD.Os.Filesystem;
using Microsoft.Extensions.Logging;

namespace ContainerD.Daemon.Startup;

/// <summary>
/// DefinitionsDir as the truth for declared containers, at daemon start and at each reload (SIGHUP).
/// One apply at a time; a file whose container is busy is applied when that container's job ends.
/// </summary>
public sealed class DeclarativeSync(
    DaemonConfig config,
    StateStore store,
    JobManager jobs,
    ContainerRegistry registry,
    Operations.Operations operations,
    ILogger<DeclarativeSync> log)
{
    // One apply of DefinitionsDir at a time (start-up, reloads, deferred files); the names whose
    // container was busy at the last apply, applied when their job ends.
    private readonly Lock _declarativeLock = new();
    private readonly HashSet<string> _deferredDeclarative = new(StringComparer.Ordinal);
    private bool _watchingJobs;

    private ContainerPaths Paths => store.Paths;

    /// <summary>
    /// Brings containers in line with DefinitionsDir, at daemon start and at each reload (SIGHUP):
    /// a new file is created, a changed one (by hash) applied as an update, a vanished one destroyed
    /// only when pruneDeclarative is on. Unchanged files start nothing. A file whose container is
    /// busy with a job is applied when that job ends. Returns what it began.
    /// </summary>
    public DeclarativeChanges Apply()
    {
        lock (_declarativeLock)
        {
            var changes = new DeclarativeChanges();
            List<string> declared;
            try
            {
                declared = Directory.Exists(config.DefinitionsDir)
                    ? Directory.EnumerateFiles(config.DefinitionsDir, "*.yaml").Order(StringComparer.Ordinal).ToList()
                    : [];
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                log.LogError("declarative definitions not applied: cannot list {Dir}: {Message}", config.DefinitionsDir, e.Message);
                return changes;
            }
            foreach (string file in declared)
            {
                ApplyDeclaredFile(file, changes);
            }
            var declaredNames = declared.Select(Path.GetFileNameWithoutExtension).ToHashSet(StringComparer.Ordinal);
            foreach (var orphan in registry.List().Where(c => c.State.Declarative && !declaredNames.Contains(c.Name)))
            {
                if (!config.PruneDeclarative)
                {
                    log.LogWarning("{File} is gone; container {Name} stays (set pruneDeclarative: true to destroy such containers)", Paths.DeclarativeFile(orphan.Name), orphan.Name);
                    continue;
                }
                if (jobs.ActiveFor(orphan.Name) is { } busy)
                {
                    Defer(orphan.Name, busy, Paths.DeclarativeFile(orphan.Name));
                    changes.Deferred++;
                    continue;
                }
                log.LogInformation("{File} is gone: destroying container {Name} (pruneDeclarative)", Paths.DeclarativeFile(orphan.Name), orphan.Name);
                try
                {
                    operations.Destroy.Begin(orphan.Name);
                    changes.Destroyed++;
                }
                catch (ContainerDException e)
                {
                    log.LogError("destroying container {Name} not begun: {Message}", orphan.Name, e.Message);
                }
            }
            return changes;
        }
    }

    private void ApplyDeclaredFile(string file, DeclarativeChanges changes)
    {
        string name = Path.GetFileNameWithoutExtension(file);
        try
        {
            string yaml = ReadDeclaration(file);
            var container = registry.Find(name);
            if (container is { State.Declarative: false })
            {
                log.LogError("{File} declares '{Name}', but a container of that name was created imperatively; destroy it or rename the file", file, name);
                return;
            }
            if (container is not null && container.State.DefinitionHash == DefinitionHash.Of(yaml))
            {
                changes.Unchanged++;
                return;
            }
            // A job on it (its create, an update, a start): this file's turn comes when the job ends.
            if (jobs.ActiveFor(name) is { } busy)
            {
                Defer(name, busy, file);
                changes.Deferred++;
                return;
            }
            if (container is null)
            {
                log.LogInformation("creating declared container {Name} from {File}", name, file);
                operations.Create.BeginDeclared(name, yaml);
                changes.Created++;
            }
            else
            {
                log.LogInformation("{File} changed: updating container {Name}", file, name);
                operations.Update.BeginDeclared(container, yaml);
                changes.Updated++;
            }
        }
        catch (ContainerDException e)
        {
            log.LogError("{File} not applied: {Message}", file, e.Message);
            changes.Failed++;
        }
        catch (IOException e)
        {
            log.LogError("{File} not applied: {Message}", file, e.Message);
            changes.Failed++;
        }
    }

    private void Defer(string name, Job busy, string file)
    {
        log.LogInformation("{File}: container {Name} is busy with job {Id} ({Operation}); applying it when that job ends", file, name, busy.Id, busy.Operation);
        if (!_watchingJobs)
        {
            _watchingJobs = true;
            jobs.JobRemoved += OnJobRemovedApplyDeferred;
        }
        _deferredDeclarative.Add(name);
    }

    /// <summary>Applies the definition of a container that was busy at the last apply, now that its job ended.</summary>
    private void OnJobRemovedApplyDeferred(Job job, JobOutcome outcome)
    {
        lock (_declarativeLock)
        {
            if (!_deferredDeclarative.Remove(job.Container))
            {
                return;
            }
        }
        // Not on the job's own thread: the apply may start the next job.
        _ = Task.Run(() =>
        {
            string file = Paths.DeclarativeFile(job.Container);
            if (File.Exists(file))
            {
                lock (_declarativeLock)
                {
                    ApplyDeclaredFile(file, new DeclarativeChanges());
                }
            }
            else
            {
                // Gone meanwhile: the full pass warns or prunes (and defers again if it must).
                Apply();
            }
        });
    }

    /// <summary>A declared file's text; a dangling symlink, an unreadable file or one that is not a regular file (a FIFO) is a ContainerDException that says so.</summary>
    private static string ReadDeclaration(string file)
    {
        try
        {
            return RegularFile.ReadAllText(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            string why = e is FileNotFoundException or DirectoryNotFoundException && new FileInfo(file).LinkTarget is { } target
                ? $"it is a symlink to {target}, which does not exist"
                : $"cannot read it: {e.Message}";
            throw new ContainerDException(ErrorKind.InvalidDefinition, why);
        }
    }
}

/// <summary>What one apply of the declarative definitions began.</summary>
public sealed class DeclarativeChanges
{
    public int Created { get; set; }
    public int Updated { get; set; }
    public int Destroyed { get; set; }
    public int Unchanged { get; set; }
    public int Deferred { get; set; }
    public int Failed { get; set; }

    public override string ToString() =>
        $"{Created} created, {Updated} updated, {Destroyed} destroyed, {Unchanged} unchanged, {Deferred} deferred until their job ends, {Failed} not applied";
}
