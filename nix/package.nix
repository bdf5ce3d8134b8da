# containerctld and containerctl, built from this repository with buildDotnetModule.
# nugetDeps: generate deps.json once with
#   nix-build -E 'with import <nixpkgs> {}; callPackage ./nix/package.nix {}' -A fetch-deps && ./result nix/deps.json
# (the NuGet packages of Directory.Packages.props, and the ILCompiler package: daemon and CLI are NativeAOT).
{ lib, buildDotnetModule, dotnetCorePackages, coreutils, gnutar, lxc, nix, shadow, util-linux, iproute2, nftables }:

buildDotnetModule {
  pname = "containerctld";
  version = "0.1.0";
  src = lib.cleanSource ../.;

  projectFile = [ "src/ContainerD.Daemon/ContainerD.Daemon.csproj" "src/ContainerD.Cli/ContainerD.Cli.csproj" ];
  nugetDeps = ./deps.json;
  dotnet-sdk = dotnetCorePackages.sdk_10_0;
  dotnet-runtime = dotnetCorePackages.runtime_10_0;
  executables = [ "containerctld" "containerctl" ];

  # The daemon runs LXC, Nix, newuidmap (shadow), setsid (util-linux), ip, nft and tar (a container's
  # root into and out of an archive: export, import, copy, move): by argv, found on PATH.
  # It asks liblxc.so.1 for containers' states (dlopen: without it, it falls back to lxc-info).
  makeWrapperArgs = [
    "--prefix" "PATH" ":" (lib.makeBinPath [ lxc nix shadow util-linux iproute2 nftables gnutar ])
    "--prefix" "LD_LIBRARY_PATH" ":" (lib.makeLibraryPath [ lxc ])
  ];

  # The same units (the daemon's, the metrics timer's), policy, activation, tmpfiles and sysusers files that install.sh installs.
  postInstall = ''
    install -Dm644 systemd/containerctld.service $out/lib/systemd/system/containerctld.service
    substituteInPlace $out/lib/systemd/system/containerctld.service \
      --replace-fail /usr/local/lib/containerctld/containerctld $out/bin/containerctld \
      --replace-fail "ExecReload=/bin/kill " "ExecReload=${coreutils}/bin/kill "
    install -Dm644 systemd/containerctld-metrics.service $out/lib/systemd/system/containerctld-metrics.service
    substituteInPlace $out/lib/systemd/system/containerctld-metrics.service \
      --replace-fail /usr/local/bin/containerctl $out/bin/containerctl
    install -Dm644 systemd/containerctld-metrics.timer $out/lib/systemd/system/containerctld-metrics.timer
    install -Dm644 systemd/io.containerctl.ContainerD1.conf $out/share/dbus-1/system.d/io.containerctl.ContainerD1.conf
    install -Dm644 systemd/io.containerctl.ContainerD1.service $out/share/dbus-1/system-services/io.containerctl.ContainerD1.service
    install -Dm644 systemd/containerctld.tmpfiles $out/lib/tmpfiles.d/containerctld.conf
    install -Dm644 systemd/containerctld.sysusers $out/lib/sysusers.d/containerctld.conf
    install -Dm644 contrib/containerctl.bash $out/share/bash-completion/completions/containerctl
  '';

  meta = {
    description = "Unprivileged LXC containers whose systems come from the Nix store, managed over D-Bus";
    mainProgram = "containerctl";
    platforms = lib.platforms.linux;
  };
}
