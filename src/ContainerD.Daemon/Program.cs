using ContainerD.Daemon;

return await DaemonHost.RunAsync(args);
