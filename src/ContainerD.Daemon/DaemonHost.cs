using ContainerD.Daemon.Bus;
using ContainerD.Daemon.Containers;
using ContainerD.Daemon.Jobs;
using ContainerD.Daemon.Operations;
using ContainerD.Daemon.Startup;
using ContainerD.Domain;
using ContainerD.Domain.Configuration;
using ContainerD.Os;
using ContainerD.Os.Filesystem;
using ContainerD.Os.Lxc;
using ContainerD.Os.Net;
using ContainerD.Os.Nix;
using ContainerD.Os.Processes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace ContainerD.Daemon;

/// <summary>containerctld [--config FILE]: the host, its services, and a readable failure when it cannot start.</summary>
public static class DaemonHost
{
    public const string DefaultConfigFile = "/etc/containerctld/config.yaml";

    public static async Task<int> RunAsync(string[] args)
    {
        InheritedDescriptors.CloseOnExec();
        DaemonConfig config;
        try
        {
            config = LoadConfig(args);
        }
        catch (Exception e) when (e is ContainerDException or IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"containerctld: {OneLine(e.Message)}");
            return 2;
        }

        // The daemon's config is its YAML file; .NET's default appsettings.json sources are not
        // watched: reloadOnChange puts an inotify watch on every directory below the content root,
        // the working directory — / under systemd: a walk of the whole file system at each start
        // (and events for every change on the host while it runs).
        var hostConfiguration = new ConfigurationManager();
        hostConfiguration.AddInMemoryCollection([new("hostBuilder:reloadConfigOnChange", "false")]);
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [], DisableDefaults = false, Configuration = hostConfiguration });
        // Type=notify and journald-formatted logs under systemd; plain console elsewhere.
        builder.Services.AddSystemd();
        builder.Services.AddSingleton<Microsoft.Extensions.Hosting.Systemd.ISystemdNotifier, Microsoft.Extensions.Hosting.Systemd.SystemdNotifier>();
        builder.Services.AddContainerD(config, new LxcTool(config.EffectiveLxcPath), new NixTool(caches: config.BinaryCaches), new AsContainerRoot(), new HostNetwork(), SubIdStore.ForHost(), HostProbe.Detect());
        builder.Services.AddSingleton<DaemonExit>();
        // Before BusService: SIGHUP is caught from the first moment (RunAsync starts it before the
        // start-up sequence), and served once start-up is done.
        builder.Services.AddSingleton<ReloadService>();
        builder.Services.AddHostedService(services => services.GetRequiredService<ReloadService>());
        builder.Services.AddSingleton<BusService>();
        builder.Services.AddHostedService(services => services.GetRequiredService<BusService>());
        // Right after BusService: the objects are published and READY=1 sent before any job starts.
        builder.Services.AddSingleton<StartupReconciler>();
        builder.Services.AddHostedService(services => services.GetRequiredService<StartupReconciler>());
        builder.Services.AddHostedService<LiveStateService>();

        using var host = builder.Build();
        var exit = host.Services.GetRequiredService<DaemonExit>();
        await host.Services.GetRequiredService<ReloadService>().StartAsync(CancellationToken.None).ConfigureAwait(false);
        // The start-up sequence, in this order, before the host runs: one daemon per state dir (a
        // second one must not roll back the first one's create), the bus name owned, and only then
        // recovery. Whatever fails is one line and status 1 — never an unhandled exception.
        StateDirLock stateLock;
        try
        {
            stateLock = StateDirLock.Acquire(config.StateDir);
        }
        catch (ContainerDException e)
        {
            return CannotStart(e);
        }
        using (stateLock)
        {
            try
            {
                await host.Services.GetRequiredService<BusService>().ClaimAsync().ConfigureAwait(false);
                await host.Services.GetRequiredService<StartupReconciler>().RecoverAsync(CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                return CannotStart(e);
            }
            if (exit.Failed)
            {
                return exit.Code;
            }
            try
            {
                await host.RunAsync().ConfigureAwait(false);
                return exit.Code;
            }
            catch (ContainerDException e)
            {
                Console.Error.WriteLine($"containerctld: {OneLine(e.Message)}");
                return 1;
            }
        }
    }

    private static int CannotStart(Exception e)
    {
        // Our own errors and the OS's (a read-only or full state dir) say what is wrong as they are;
        // anything else is named by its type, still on one line.
        string what = e is ContainerDException or IOException or UnauthorizedAccessException ? e.Message : $"{e.GetType().Name}: {e.Message}";
        Console.Error.WriteLine($"containerctld: cannot start: {OneLine(what)}");
        return 1;
    }

    private static string OneLine(string text) => string.Join("; ", text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    private static DaemonConfig LoadConfig(string[] args)
    {
        string? file = null;
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--config" && i + 1 < args.Length)
            {
                file = args[++i];
            }
            else
            {
                throw new ContainerDException(ErrorKind.Failed, $"unknown argument '{args[i]}'; usage: containerctld [--config FILE]");
            }
        }
        if (file is null && !File.Exists(DefaultConfigFile))
        {
            return new DaemonConfig();
        }
        file ??= DefaultConfigFile;
        if (!File.Exists(file))
        {
            throw new ContainerDException(ErrorKind.Failed, $"config file {file} does not exist");
        }
        return DaemonConfigParser.Parse(File.ReadAllText(file), file);
    }
}
