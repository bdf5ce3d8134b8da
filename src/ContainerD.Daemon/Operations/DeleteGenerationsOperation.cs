using ContainerD.Contract;
using ContainerD.Daemon.Bus;
using ContainerD.Daemon.Containers;
using ContainerD.Daemon.Jobs;
using ContainerD.Domain;
using ContainerD.Os.Nix;

namespace ContainerD.Daemon.Operations;

/// <summary>delete-generations: old generations go ("old", "Nd" or "+N", as nix-env reads them); the current one always stays.</summary>
public sealed partial class DeleteGenerationsOperation(OperationKit kit) : IManagerVerb
{
    public const string Name = "delete-generations";

    public IReadOnlyList<string> Members { get; } = [Wire.Manager.DeleteGenerations];

    public Func<Caller, ValueTask<Job>> Bind(ref CallArguments call)
    {
        string name = call.Name(), which = call.Word("the generation selector");
        return _ => new(Begin(name, which));
    }

    // nix-env refuses +0 and 0d (it keeps at least one; 0 days is no age): so does this, before a job.
    [System.Text.RegularExpressions.GeneratedRegex(@"^(old|0*[1-9][0-9]{0,5}d|\+0*[1-9][0-9]{0,5})\z")]
    private static partial System.Text.RegularExpressions.Regex Selector();

    public Job Begin(string name, string which)
    {
        if (!Selector().IsMatch(which))
        {
            throw new ContainerDException(ErrorKind.InvalidDefinition,
                $"'{which}' is not a generation selector: use old (all but the current), 30d (older than 30 days) or +5 (keep the newest 5)");
        }
        return kit.ForExisting(name, Name, async (job, container) =>
        {
            await kit.Nix.DeleteGenerationsAsync(kit.Paths.ProfileDir(name), which, job.Canceled).ConfigureAwait(false);
            var left = NixTool.ListGenerations(kit.Paths.ProfileDir(name));
            kit.Store.PruneGenerationDefinitions(name, left.Select(g => g.Number).ToHashSet());
            job.Log($"{name} keeps generations {string.Join(", ", left.Select(g => g.Number))}; 'nix-store --gc' reclaims the rest");
        });
    }
}
