# A container system built from Nix builtins and the host's static busybox: no nixpkgs, no network.
# Used by ./demo.sh and the integration tests. Its output has what ContainerD boots and activates: ./init, ./sw/bin, ./bin/switch-to-configuration.
{ hostName ? "container"
, variant ? "1"            # makes a second, observably different system for update tests
, buildDelay ? "0"         # seconds the build takes, printing a line each second (progress, cancel tests)
, failSwitch ? "0"         # "1": switch-to-configuration fails (activation failure tests)
, failBuild ? "0"          # "1": the build fails after printing a line (build failure tests)
, powerOffLog ? ""         # a path inside: init ignores SIGPWR (lxc-stop's request) and notes each one there
, busybox ? "/usr/bin/busybox" # a static busybox on the host, not behind a symlinked dir
}:
let
  # busybox picks its applet from argv[0], so the store must hold it under the name "busybox".
  bb = builtins.path {
    name = "busybox-static";
    path = /. + builtins.dirOf busybox;
    filter = path: type: baseNameOf path == baseNameOf busybox;
  };
in
derivation {
  name = "busybox-system-${hostName}-${variant}";
  system = builtins.currentSystem;
  builder = "${bb}/${baseNameOf busybox}";
  args = [ "sh" "-e" ./build-busybox-system.sh ];
  inherit hostName variant buildDelay failSwitch failBuild powerOffLog;
  busybox = "${bb}/${baseNameOf busybox}";
}
