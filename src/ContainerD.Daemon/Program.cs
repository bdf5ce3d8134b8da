using ContainerD.Daemon;

// LXC runs the same binary as its mount hook (see LxcHookCommand).
return args is [LxcHookCommand.Verb, ..] ? LxcHookCommand.Run(args) : await DaemonHost.RunAsync(args);
