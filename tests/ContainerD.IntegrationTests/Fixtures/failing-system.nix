# A system whose build fails after printing a line: the job must fail with that line, change nothing.
{ busybox ? "/usr/bin/busybox" }:
let
  bb = builtins.path {
    name = "busybox-static";
    path = /. + builtins.dirOf busybox;
    filter = path: type: baseNameOf path == baseNameOf busybox;
  };
in
derivation {
  name = "containerd-test-broken-system";
  system = builtins.currentSystem;
  builder = "${bb}/${baseNameOf busybox}";
  args = [ "sh" "-c" "echo 'compiling the broken system'; echo 'error: this system does not build' >&2; exit 1" ];
}
