using ContainerD.Daemon.Bus;
using ContainerD.Daemon.Containers;
using ContainerD.Daemon.Jobs;
using ContainerD.Domain;
using ContainerD.Domain.Configuration;
using ContainerD.Os;
using ContainerD.Os.Lxc;
using ContainerD.Os.Net;
using ContainerD.Os.Nix;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace ContainerD.Daemon;

/// <summary>containerctld [--config FILE]: the host, its services, and a readable failure when it cannot start.</summary>
public static class DaemonHost
{
    public const string DefaultConfigFile = "/etc/containerctld/config.yaml";

    public static async Task<int> RunAsync(string[] args)
    {
        DaemonConfig config;
        try
        {
            config = LoadConfig(args);
        }
        catch (ContainerDException e)
        {
            Console.Error.WriteLine($"containerctld: {e.Message}");
            return 2;
        }

        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [], DisableDefaults = false });
        // Type=notify and journald-formatted logs under systemd; plain console elsewhere.
        builder.Services.AddSystemd();
        builder.Services.AddSingleton<Microsoft.Extensions.Hosting.Systemd.ISystemdNotifier, Microsoft.Extensions.Hosting.Systemd.SystemdNotifier>();
        builder.Services.AddSingleton(config);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(new ContainerPaths(config));
        builder.Services.AddSingleton<StateStore>();
        builder.Services.AddSingleton(new LxcTool(config.EffectiveLxcPath));
        builder.Services.AddSingleton(new NixTool());
        builder.Services.AddSingleton(new HostNetwork());
        builder.Services.AddSingleton(SubIdStore.ForHost());
        builder.Services.AddSingleton(HostProbe.Detect());
        builder.Services.AddSingleton<JobManager>();
        builder.Services.AddSingleton<ContainerService>();
        // Before BusService: SIGHUP is caught from the first moment, and served once start-up is done.
        builder.Services.AddHostedService<ReloadService>();
        builder.Services.AddHostedService<BusService>();
        builder.Services.AddHostedService<LiveStateService>();

        using var host = builder.Build();
        try
        {
            await host.RunAsync().ConfigureAwait(false);
            return 0;
        }
        catch (ContainerDException e)
        {
            Console.Error.WriteLine($"containerctld: {e.Message}");
            return 1;
        }
    }

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
