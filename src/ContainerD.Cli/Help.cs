namespace ContainerD.Cli;

/// <summary>The help texts, each with an example.</summary>
public static partial class Help
{
    public const string Overview = """
        containerctl — manage ContainerD containers (unprivileged LXC, systems from the Nix store)

        usage: containerctl [-H [USER@]HOST[:PORT] [--ssh-config FILE]] [--bus system|session|ADDRESS] COMMAND [ARGS]
          list [--json]                      the containers, their state and uid ranges
          status NAME                        everything the daemon knows about NAME
          create NAME -f FILE [--start]      create from a YAML definition
          create NAME --nix FILE [-A ATTR] [--arg K V]… [--autostart] [--start]
          create NAME --flake PATH#NAME [--autostart] [--start]
          create NAME --system PATH [--autostart] [--start]
          start NAME | restart NAME
          stop NAME [--force] [--timeout S]  power off; kill after S seconds (or at once with --force)
          destroy NAME [--yes]               remove it and its files; asks first unless --yes
          run NAME -- CMD [ARGS…]            run a command inside (no shell in between)
          shell NAME                         an interactive root shell inside, on a real terminal
          logs NAME [-f]                     its console log; -f keeps following it
          update NAME [-f FILE | --nix FILE … | --flake PATH#NAME | --system PATH]
                                             rebuild its system as a new generation and activate it
          rollback NAME [GENERATION]         back to the previous (or the given) generation
          generations NAME [--delete WHICH]  its system's generations; delete old ones (old | 30d | +5)
          snapshot NAME [SNAP] | snapshot NAME --delete SNAP
                                             keep its writable root and generation as SNAP; delete one
          snapshots NAME [--json]            its snapshots
          restore NAME SNAP [--yes]          bring a snapshot's root and generation back
          reset NAME [--yes]                 empty its writable root (system and snapshots stay)
          export NAME FILE|- [--all-generations]
                                             one archive: definition, generations, root, closure
          import FILE|- [--name NEW]         a container from an archive, with a fresh uid range
          copy NAME --to [USER@]HOST[:PORT] [--to-bus BUS] [--name NEW]
                                             to another host: the missing store paths and the root
          move NAME --to [USER@]HOST[:PORT] [--to-bus BUS] [--name NEW]
                                             the same; destroyed here once it runs there
          jobs | cancel JOB                  the jobs running now; cancel one (e.g. a long build)
          top [--sort cpu|memory|tasks|io]   the running containers by what they use, live (--json: once)
          events [NAME…] [--json]            follow what happens: created, removed, state, generation, jobs
          metrics [--output FILE]            Prometheus text format, for node_exporter's textfile collector

        Job commands wait for the job and stream its log; --no-block prints the job and returns.
        The bus is also taken from CONTAINERCTL_BUS. 'containerctl COMMAND --help' shows more.
        -H drives the daemon of another host through ssh (as machinectl -H does; also CONTAINERCTL_HOST):
        --bus then names the bus on that host, --ssh-config FILE is ssh's -F (CONTAINERCTL_SSH_CONFIG).
        Exit codes: 0 ok, 1 failed, 2 invalid input, 3 not found, 4 permission denied,
        5 daemon unreachable, 6 busy or already exists, 7 not supported by this host.

        """;

    private static readonly Dictionary<string, string> Commands = new()
    {
        ["list"] = "usage: containerctl list [--json | --names]\nexample: containerctl list --json\n",
        ["status"] = "usage: containerctl status NAME\nexample: containerctl status web\n",
        ["create"] = """
            usage: containerctl create NAME (-f FILE | --nix FILE [-A ATTR] [--arg K V]… | --flake PATH#NAME | --system PATH)
                                       [--autostart] [--start] [--no-block] [--build-on local|remote]
            Builds the container's system with Nix, gives it its own uid range and creates it.
            --flake builds PATH's nixosConfigurations.NAME.config.system.build.toplevel (a NAME with
            a dot is the attribute itself), as nixos-container create --flake does.
            With -H HOST, --nix and --flake build here and copy to HOST the store paths it lacks
            (nix-copy-closure), --system copies its closure if this machine has it; --build-on remote
            sends the definition as it is, for HOST to build. -f FILE is always sent as it is.
            example: containerctl create web -f web.yaml --start
            example: containerctl create web --nix ./web.nix -A system --arg hostName web
            example: containerctl create web --flake ./containers#web --start
            example: containerctl -H root@web1 create web --nix ./web.nix --start

            """,
        ["start"] = "usage: containerctl start NAME [--no-block]\nexample: containerctl start web\n",
        ["stop"] = "usage: containerctl stop NAME [--force] [--timeout SECONDS] [--no-block]\nAsks init to power off and kills it after the timeout (default: the definition's stopTimeout);\n--force kills it at once.\nexample: containerctl stop web --timeout 30\n",
        ["restart"] = "usage: containerctl restart NAME [--no-block]\nexample: containerctl restart web\n",
        ["destroy"] = "usage: containerctl destroy NAME [--yes] [--no-block]\nStops NAME if needed and removes it, its profile and its files; its uid range is freed.\nAsks for confirmation on a terminal; scripts must pass --yes.\nexample: containerctl destroy web --yes\n",
        ["update"] = """
            usage: containerctl update NAME [-f FILE | --nix FILE [-A ATTR] [--arg K V]… | --flake PATH#NAME | --system PATH]
                                       [--no-block] [--build-on local|remote]
            Builds the system again (from FILE, or the current definition) as a new generation;
            a running container gets it as its definition's activation says. --nix, --flake and
            --system replace only the current definition's system. With -H HOST they build here and
            push, as create does.
            example: containerctl update web -f web.yaml
            example: containerctl -H root@web1 update web --nix ./web.nix --arg variant 2

            """,
        ["rollback"] = "usage: containerctl rollback NAME [GENERATION] [--no-block]\nexample: containerctl rollback web      (to the previous generation)\n",
        ["generations"] = "usage: containerctl generations NAME [--delete old|Nd|+N]\nLists the generations; --delete removes old ones (never the current): old = all but the current,\n30d = older than 30 days, +5 = all but the newest 5. 'nix-store --gc' then reclaims their systems.\nexample: containerctl generations web --delete +3\n",
        ["shell"] = "usage: containerctl shell NAME\nAn interactive login shell as the container's root, on a new terminal the daemon opens inside.\nThe session ends when the shell does (exit or Ctrl-D).\nexample: containerctl shell web\n",
        ["logs"] = "usage: containerctl logs NAME [-f]\nThe container's console (what its init and services print). -f keeps following it.\nexample: containerctl logs web -f\n",
        ["snapshot"] = "usage: containerctl snapshot NAME [SNAPSHOT] [--no-block]\n       containerctl snapshot NAME --delete SNAPSHOT\nKeeps NAME's writable root (a copy, reflinked where the file system can; a running container is\nfrozen while it is copied) and the generation it runs, which stays in the store while the snapshot\nexists. Without a name the snapshot is named by the time (UTC), e.g. 20261201-120000.\nexample: containerctl snapshot web before-upgrade\n",
        ["snapshots"] = "usage: containerctl snapshots NAME [--json]\nThe snapshots of NAME, oldest first: name, when, generation, system.\nexample: containerctl snapshots web\n",
        ["restore"] = "usage: containerctl restore NAME SNAPSHOT [--yes] [--no-block]\nReplaces NAME's writable root with the snapshot's and makes its generation (and definition)\ncurrent again. A running container is stopped, restored and started. What the root holds now is\nlost: asks first on a terminal; scripts must pass --yes.\nexample: containerctl restore web before-upgrade --yes\n",
        ["reset"] = "usage: containerctl reset NAME [--yes] [--no-block]\nEmpties NAME's writable root back to the skeleton a new container gets; its system, generations\nand snapshots stay. A running container is stopped, reset and started. Asks first on a terminal;\nscripts must pass --yes.\nexample: containerctl reset web --yes\n",
        ["export"] = "usage: containerctl export NAME FILE|- [--all-generations] [--no-block]\nWrites NAME as one archive (docs/EXPORT.md): its definition, its current generation (all of them\nwith --all-generations), its writable root with container-relative owners, and the closure of\nthose systems. FILE is created 0600 and must not exist; - writes to stdout (a pipe or a file).\nA running container is frozen while its root is archived. With -H HOST, HOST's containerctl\nexports there and the archive streams through ssh into FILE here.\nexample: containerctl export web web.ctdx\nexample: containerctl export web - | ssh other containerctl import -\nexample: containerctl -H web1 export web web.ctdx\n",
        ["import"] = "usage: containerctl import FILE|- [--name NEW] [--no-block]\nMakes a container from an archive: a fresh uid range (its files' owners shifted into it), its\nclosure imported (root only; a member may import when the store has the systems already), its\ngenerations set in its profile. A damaged or truncated archive is refused and nothing is made.\nWith -H HOST, FILE (here) streams through ssh into HOST's containerctl import.\nexample: containerctl import web.ctdx --name web2\nexample: containerctl -H web2 import web.ctdx\n",
        ["copy"] = "usage: containerctl [--ssh-config FILE] copy NAME --to [USER@]HOST[:PORT] [--to-bus BUS] [--name NEW] [--all-generations]\nSends NAME to another host through ssh: its closure as the store paths that host lacks\n(nix-copy-closure), then its export, streamed into 'containerctl import -' run there (no temporary\nfile). --to-bus names the bus there (default: its system bus).\nexample: containerctl copy web --to root@web2 --name web-copy\n",
        ["move"] = "usage: containerctl [--ssh-config FILE] move NAME --to [USER@]HOST[:PORT] [--to-bus BUS] [--name NEW] [--discard-snapshots]\nAs copy, with all its generations, but a running NAME is stopped first, started there, and destroyed\nhere only once it runs there. If the import or the start there fails, what was made there is removed\nand NAME is started here again. Snapshots do not travel: a NAME with snapshots is refused unless\n--discard-snapshots says they may go with it.\nexample: containerctl move web --to root@web2\n",
        ["jobs"] = "usage: containerctl jobs\nThe jobs running now: id, container, operation.\nexample: containerctl jobs\n",
        ["cancel"] = "usage: containerctl cancel JOB\nCancels a running job (a build stops, no new generation is made).\nexample: containerctl cancel 12\n",
        ["top"] = """
            usage: containerctl top [--sort cpu|memory|tasks|io] [--delay SECONDS] [--json]
            The running containers, one line each, largest first: tasks, CPU (% of one CPU over the
            last interval), memory, and block I/O read and written per second. On a terminal it
            redraws every second (--delay) until q or Ctrl-C; piped or with --json it samples twice,
            an interval apart, and prints once, as systemd-cgtop does.
            example: containerctl top --sort memory
            example: containerctl top --json | jq '.[0].name'

            """,
        ["events"] = """
            usage: containerctl events [NAME…] [--json]
            Follows what happens, a line each with its time (UTC): created, removed, state (running,
            stopped… also behind the daemon's back), generation, job-started and job-ended with its
            result. NAMEs must be containers; without any, every container. --json: one JSON object
            a line. It ends when containerctld goes away, saying so (exit 5).
            example: containerctl events web --json

            """,
        ["metrics"] = """
            usage: containerctl metrics [--output FILE]
            One scrape in the Prometheus text format: each container's state, generation, CPU,
            memory, tasks, I/O, network and root disk, and the jobs by operation (counts, running,
            durations). --output writes FILE atomically (node_exporter's textfile collector reads
            DIR/*.prom); when the daemon cannot be read, FILE says containerctld_up 0 (exit 5).
            example: containerctl metrics --output /var/lib/prometheus/node-exporter/containerctld.prom

            """,
        ["run"] = "usage: containerctl run NAME -- CMD [ARGS…]\nThe command's output and exit code become containerctl's.\nexample: containerctl run web -- cat /proc/self/uid_map\n",
    };

    public static bool Knows(string command) => Commands.ContainsKey(command);

    /// <summary>The commands, for completion: a command is known by its help text.</summary>
    public static IEnumerable<string> CommandNames => Commands.Keys;

    /// <summary>The options a command's usage lines name (for completion), in their order, and --help.</summary>
    public static IEnumerable<string> OptionsOf(string command)
    {
        if (!Commands.TryGetValue(command, out var text))
        {
            return [];
        }
        // The usage is the first line and the indented ones that go on with it.
        var usage = text.Split('\n').TakeWhile((line, i) => i == 0 ? line.StartsWith("usage:", StringComparison.Ordinal) : line.StartsWith(' '));
        return usage.Select(line => AfterCommand(line, command)).SelectMany(line => OptionWord().Matches(line).Select(m => m.Value)).Append("--help").Distinct();
    }

    /// <summary>What follows the command word on a usage line: before it stand containerctl's own options.</summary>
    private static string AfterCommand(string line, string command)
    {
        int start = line.IndexOf("containerctl ", StringComparison.Ordinal);
        int at = start < 0 ? -1 : line.IndexOf(" " + command, start, StringComparison.Ordinal);
        return at < 0 ? line : line[(at + command.Length + 1)..];
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"(?<=[\s\[|(])--?[A-Za-z][A-Za-z-]*")]
    private static partial System.Text.RegularExpressions.Regex OptionWord();

    /// <summary>What a command does, for "only root and members of group containerctl may …".</summary>
    public static string Describe(string command) => command switch
    {
        "create" or "start" or "stop" or "restart" or "destroy" or "update" or "rollback" => $"{command} containers",
        "generations" => "delete generations",
        "run" => "run commands inside containers",
        "shell" => "open a shell inside containers",
        "logs" => "read containers' console logs",
        "cancel" => "cancel jobs",
        "status" => "read a container's definition",
        _ => "change containers",
    };

    public static string For(string command) =>
        Commands.TryGetValue(command, out var text) ? text : $"containerctl: unknown command '{command}'\n\n{Overview}";
}
