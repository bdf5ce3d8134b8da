# A NixOS-like system served entirely from the store, with Debian's systemd 252 as PID 1.
# No nixpkgs: build.sh adds Debian's files to the store as `usr` and passes the host's static
# busybox; this derivation (a busybox builder) writes what NixOS's toplevel has:
#   ./init                          stage 2: links /usr /bin /lib /lib64 /sbin into the store, mounts
#                                   /run, makes /etc from ./etc, then execs systemd
#   ./etc                           this generation's /etc, units in ./etc/systemd/system
#   ./sw -> usr                     the system's programs (bash, coreutils, systemctl, …)
#   ./bin/switch-to-configuration   installs this generation into a running guest, as NixOS's does
{ usr                      # store path of the merged Debian /usr (build.sh)
, busybox                  # a static busybox in the store or on the host
, hostName ? "systemd-guest"
, variant ? "1"            # recorded in /etc/variant: tells generations apart
, units ? "hello"          # services of this generation, all wanted by multi-user.target:
                           #   fail*     a oneshot that fails (ExecStart=false)
                           #   stubborn* a service whose stop never ends (a guest that ignores the halt)
                           #   any other a long-running service (sleep infinity)
}:
let
  bb = builtins.path {
    name = "busybox-static";
    path = /. + builtins.dirOf busybox;
    filter = path: type: baseNameOf path == baseNameOf busybox;
  };
in
derivation {
  name = "systemd-system-${hostName}-${variant}";
  system = builtins.currentSystem;
  builder = "${bb}/${baseNameOf busybox}";
  args = [ "sh" "-e" ./builder.sh ];
  busybox = "${bb}/${baseNameOf busybox}";
  usr = builtins.storePath usr;
  inherit hostName variant units;
  initScript = ./init.sh;
  switchScript = ./switch-to-configuration.sh;
}
