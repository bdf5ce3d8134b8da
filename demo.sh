#!/usr/bin/env bash
# ContainerD in two minutes, as root on Debian 12: a private bus, the daemon, and a real
# unprivileged LXC container whose system Nix builds from examples/busybox-system.nix.
# Nothing is left behind: the daemon, the bus and every file are removed at the end, and root's
# /etc/subuid and /etc/subgid lines, which the daemon adds, land in a private overlay of /etc.
# ./demo.sh --systemd adds a real guest: Debian's systemd 252 as PID 1, served from the store
# (examples/systemd-system; its first build downloads Debian's packages once, ~20 MB).
set -euo pipefail
systemd=0
for arg in "$@"; do
  case $arg in
    --systemd) systemd=1 ;;
    *) echo "usage: ./demo.sh [--systemd]" >&2; exit 2 ;;
  esac
done
cd "$(dirname "$0")"
[[ $(id -u) == 0 ]] || { echo "demo.sh: run as root (containers are root-started, unprivileged)" >&2; exit 1; }

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
show() { printf '$'; printf ' %q' "$@"; printf '\n'; "$@"; }

say "Installing what is missing and building"
./scripts/install-deps.sh
dotnet build ContainerD.sln --no-restore --verbosity quiet -clp:ErrorsOnly
dotnet publish src/ContainerD.Cli --verbosity quiet -clp:ErrorsOnly   # NativeAOT: starts in a few ms
daemon=artifacts/bin/ContainerD.Daemon/debug/containerctld
ctl=artifacts/publish/ContainerD.Cli/release_linux-x64/containerctl

work=$(mktemp -d /tmp/containerctld-demo.XXXXXX)
chmod 711 "$work"   # the container's root (an unprivileged uid) must reach its rootfs below
profiles=/nix/var/nix/profiles/containerctld-demo-${work##*.}
cleanup() {
  [[ -n ${daemon_pid:-} ]] && kill "$daemon_pid" 2>/dev/null || true
  for c in "$work"/state/lxc/*/; do [[ -d $c ]] && lxc-stop -P "$work/state/lxc" -n "$(basename "$c")" -k 2>/dev/null || true; done
  [[ -n ${bus_pid:-} ]] && kill "$bus_pid" 2>/dev/null || true
  rm -rf "$work" "$profiles"
}
trap cleanup EXIT

say "Starting a private D-Bus bus and containerctld on it (throw-away state in $work)"
dbus-daemon --session --fork --print-address=1 --print-pid=3 3>"$work/bus.pid" >"$work/bus.address"
bus_pid=$(cat "$work/bus.pid"); bus=$(cat "$work/bus.address")
cat >"$work/config.yaml" <<CONFIG
bus: "$bus"
stateDir: $work/state
definitionsDir: $work/definitions
profilesDir: $profiles
CONFIG
# The example system is built from local files only: no binary cache to ask (nor wait for offline).
# The daemon adds root's id pool to /etc/subuid and /etc/subgid, as an installed one does: here it
# runs with a private overlay on /etc (tests/private-etc.sh), so those lines go with $work.
NIX_CONFIG="substituters =" tests/private-etc.sh --upper "$work/etc" "$daemon" --config "$work/config.yaml" >"$work/daemon.log" 2>&1 &
daemon_pid=$!
export CONTAINERCTL_BUS=$bus
for _ in $(seq 100); do "$ctl" list >/dev/null 2>&1 && break; sleep 0.1; done
"$ctl" list >/dev/null || { cat "$work/daemon.log"; exit 1; }

say "Creating container 'demo': Nix builds its system, the daemon gives it its own uid range"
show "$ctl" create demo --nix examples/busybox-system.nix --arg hostName demo --arg busybox "$(readlink -f /bin/busybox)" --start

say "The containers"
show "$ctl" list

say "Inside: root, mapped onto an unprivileged host range; the store is read-only"
show "$ctl" run demo -- sh -c 'echo "id: $(id)"; echo "uid_map: $(cat /proc/self/uid_map)"; echo "system: $(readlink -f /nix/var/nix/profiles/system)"; touch /nix/store/demo-was-here || true'

say "On the host, the container's init runs as that unprivileged uid"
pid=$("$ctl" list --json | sed -n 's/.*"pid": \([0-9]*\).*/\1/p' | head -1)
show ps -o user:10,pid,cmd -p "$pid"

if ((systemd)); then
  say "A real guest: systemd 252 as PID 1, its files from the store, nothing of the host mounted"
  system=$(examples/systemd-system/build.sh)
  show "$ctl" create guest --system "$system" --start
  for _ in $(seq 100); do
    state=$("$ctl" run guest -- systemctl is-system-running 2>/dev/null || true)
    [[ $state == running || $state == degraded ]] && break
    sleep 0.2
  done
  show "$ctl" run guest -- systemctl is-system-running || true
  show "$ctl" run guest -- systemctl --failed --no-pager || true
  show "$ctl" run guest -- ps -e -o pid,user,cmd
  say "Stopping it: systemd shuts down on its own (LXC sends it SIGRTMIN+3)"
  show "$ctl" stop guest
  "$ctl" logs guest | tail -n 4
  show "$ctl" destroy guest --yes
fi

say "Stopping and destroying it: its files, profile and uid range are gone"
show "$ctl" stop demo
show "$ctl" destroy demo --yes
show "$ctl" list
say "Done. The daemon's log was:"
sed 's/^/  /' "$work/daemon.log" | tail -n 15
