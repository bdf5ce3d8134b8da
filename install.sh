#!/usr/bin/env bash
# Installs ContainerD as a system service: the daemon and the CLI (NativeAOT), the systemd unit
# (and a timer that writes metrics for node_exporter, not enabled), the D-Bus policy and activation
# file, tmpfiles.d and sysusers.d entries, bash completion and an example config. Every installed path is recorded in a manifest, which --uninstall reads.
#
#   ./install.sh [--prefix /usr/local] [--destdir DIR] [--from DIR]
#   ./install.sh --uninstall [--prefix /usr/local] [--destdir DIR]
#
#   --prefix DIR   where the binaries go on the target system (default: $PREFIX, else /usr/local)
#   --destdir DIR  stage everything below DIR, for packaging (default: $DESTDIR, as `make install
#                  DESTDIR=…` takes it): nothing outside DIR is written, nothing live is reloaded,
#                  no user, group or directory is created on this system
#   --from DIR     install binaries published already (DIR/daemon/containerctld, DIR/cli/containerctl)
#   Relative DIRs are taken from the directory you run install.sh in.
#
# Containers' data (/var/lib/containerctld, /nix/var/nix/profiles/per-container, /etc/containerctld)
# is never removed by --uninstall; see the README for how to remove it.
set -euo pipefail
caller=$PWD
cd "$(dirname "$0")"

# The packager's convention: DESTDIR and PREFIX from the environment; the flags win over them.
prefix=${PREFIX:-/usr/local} destdir=${DESTDIR:-} from="" uninstall=0
while (($#)); do
  case $1 in
    --prefix) prefix=${2:?--prefix needs a directory}; shift 2 ;;
    --destdir) destdir=${2:?--destdir needs a directory}; shift 2 ;;
    --from) from=${2:?--from needs a directory}; shift 2 ;;
    --uninstall) uninstall=1; shift ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install.sh: unknown argument '$1'; see ./install.sh --help" >&2; exit 2 ;;
  esac
done
# The prefix is written into the unit file: only plain absolute paths.
[[ $prefix =~ ^/[A-Za-z0-9._/-]*$ ]] || { echo "install.sh: --prefix must be an absolute path of letters, digits, '.', '_', '-' and '/' (so must PREFIX)" >&2; exit 2; }
prefix=${prefix%/}; prefix=${prefix:-/}
[[ $prefix != / ]] || { echo "install.sh: --prefix (or PREFIX) / is not a prefix; use /usr or /usr/local" >&2; exit 2; }
# Relative to where install.sh was run, not to the repository it cds into.
[[ -z $destdir || $destdir == /* ]] || destdir="$caller/$destdir"
[[ -z $from || $from == /* ]] || from="$caller/$from"
# DESTDIR=/ is the live system; a staging root is named without its trailing slashes.
while [[ $destdir == */ ]]; do destdir=${destdir%/}; done

libdir=$prefix/lib/containerctld
# A package's units (PREFIX=/usr) go where the distribution's do, so /etc/systemd/system stays the
# admin's to override them; an admin's own install (/usr/local, /opt/…) goes to /etc/systemd/system,
# which systemd reads whatever the prefix.
unitdir=$([[ $prefix == /usr ]] && echo /usr/lib/systemd/system || echo /etc/systemd/system)
manifest=$libdir/install-manifest
live=$([[ -z $destdir ]] && echo 1 || echo 0)

# Reloads what reads the installed files, on a live system where systemd runs.
reload() {
  ((live)) && [[ -d /run/systemd/system ]] || return 0
  systemctl daemon-reload
  systemctl reload dbus.service 2>/dev/null || true
}

if ((uninstall)); then
  [[ -f $destdir$manifest ]] || { echo "install.sh: nothing to uninstall: $destdir$manifest is missing" >&2; exit 1; }
  if ((live)) && [[ -d /run/systemd/system ]]; then
    systemctl disable --now containerctld-metrics.timer containerctld.service 2>/dev/null || true
  fi
  mapfile -t paths < <(tac "$destdir$manifest")
  rm -f "$destdir$manifest"
  # Last installed first: files, then the directories install.sh made, innermost first, if empty.
  for path in "${paths[@]}"; do
    if [[ -d $destdir$path && ! -L $destdir$path ]]; then rmdir --ignore-fail-on-non-empty "$destdir$path"; else rm -f "$destdir$path"; fi
  done
  reload
  if ((live)); then
    echo "ContainerD is uninstalled. Containers' data is kept; to remove it too (after destroying them, or instead):"
    echo "  rm -rf /var/lib/containerctld /nix/var/nix/profiles/per-container /etc/containerctld /run/containerctld"
  else
    # A staging root: this system's own ContainerD and its containers are none of our business.
    echo "ContainerD is uninstalled from $destdir; the config the install left there ($destdir/etc/containerctld/config.yaml) is kept."
  fi
  exit 0
fi

if [[ -z $from ]]; then
  echo "==> publishing the daemon and the CLI (NativeAOT)"
  # Building writes to the build tree and a temporary directory only, as `make` before `make install` does.
  from=$(mktemp -d)
  trap 'rm -rf "$from"' EXIT
  dotnet publish src/ContainerD.Daemon -c Release -r linux-x64 -o "$from/daemon" --verbosity quiet -clp:ErrorsOnly
  dotnet publish src/ContainerD.Cli -c Release -o "$from/cli" --verbosity quiet -clp:ErrorsOnly
fi
[[ -x $from/daemon/containerctld && -x $from/cli/containerctl ]] || { echo "install.sh: $from has no daemon/containerctld and cli/containerctl" >&2; exit 1; }

echo "==> installing into ${destdir:-/} (prefix $prefix)"
installed=()
# A reinstall keeps what the first install recorded (the directories it made, above all).
if [[ -f $destdir$manifest ]]; then mapfile -t installed <"$destdir$manifest"; fi
# put MODE SOURCE TARGET: installs one file (directories as needed) and records it.
put() {
  local mode=$1 source=$2 target=$3 dir new=()
  # Directories this creates are recorded too, outermost first, so that uninstall removes them innermost first.
  dir=$(dirname "$target")
  while [[ $dir != / && ! -d $destdir$dir ]]; do new=("$dir" "${new[@]}"); dir=$(dirname "$dir"); done
  install -D -m "$mode" "$source" "$destdir$target"
  installed+=("${new[@]}" "$target")
}

mkdir -p "${destdir:-/}"
while IFS= read -r -d '' file; do
  relative=${file#"$from/daemon/"}
  if [[ -x $file ]]; then put 755 "$file" "$libdir/$relative"; else put 644 "$file" "$libdir/$relative"; fi
done < <(find -H "$from/daemon" -type f ! -name '*.pdb' ! -name '*.dbg' -print0 | sort -z)
put 755 "$from/cli/containerctl" "$prefix/bin/containerctl"

# Straight from sed into place: no temporary file outside the destination.
put 644 /dev/stdin "$unitdir/containerctld.service" \
  < <(sed "s|^ExecStart=/usr/local/lib/containerctld/containerctld |ExecStart=$libdir/containerctld |" systemd/containerctld.service)
# Metrics for node_exporter's textfile collector: installed, not enabled (README: "Metrics").
put 644 /dev/stdin "$unitdir/containerctld-metrics.service" \
  < <(sed "s|^ExecStart=/usr/local/bin/containerctl |ExecStart=$prefix/bin/containerctl |" systemd/containerctld-metrics.service)
put 644 systemd/containerctld-metrics.timer "$unitdir/containerctld-metrics.timer"
put 644 systemd/io.containerctl.ContainerD1.conf /usr/share/dbus-1/system.d/io.containerctl.ContainerD1.conf
put 644 systemd/io.containerctl.ContainerD1.service /usr/share/dbus-1/system-services/io.containerctl.ContainerD1.service
put 644 systemd/containerctld.tmpfiles /usr/lib/tmpfiles.d/containerctld.conf
put 644 systemd/containerctld.sysusers /usr/lib/sysusers.d/containerctld.conf
put 644 contrib/containerctl.bash /usr/share/bash-completion/completions/containerctl
# The Cockpit page: Cockpit finds it in /usr/share/cockpit/containerctl/ ("Containers" in its menu).
# Built with npm from cockpit/ (package-lock.json) when it is missing or older than its sources.
if command -v npm >/dev/null && { [[ ! -f cockpit/dist/index.js ]] || [[ -n $(find cockpit/src cockpit/package-lock.json -newer cockpit/dist/index.js) ]]; }; then
  echo "==> building the Cockpit page"
  # npm's cache and logs in a temporary directory, not in ~/.npm: the build touches the build tree
  # and that only (the packages come from npm's registry, unless cockpit/dist is built already).
  npm_cache=$(mktemp -d "${TMPDIR:-/tmp}/containerctld-npm.XXXXXX")
  status=0
  (cd cockpit && export npm_config_cache="$npm_cache" npm_config_logs_dir="$npm_cache/logs" \
    && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build) || status=$?
  rm -rf "$npm_cache"
  ((status == 0)) || exit "$status"
fi
if [[ -f cockpit/dist/index.js ]]; then
  while IFS= read -r -d '' file; do put 644 "$file" "/usr/share/cockpit/containerctl/${file#cockpit/dist/}"; done < <(find cockpit/dist -type f -print0 | sort -z)
else
  echo "install.sh: npm is missing, so the Cockpit page (cockpit/) is not built and not installed" >&2
fi
# The admin's config is theirs: installed once, never overwritten, never uninstalled.
if [[ ! -e $destdir/etc/containerctld/config.yaml ]]; then
  install -D -m 644 examples/config.yaml "$destdir/etc/containerctld/config.yaml"
fi

mkdir -p "$destdir$libdir"
printf '%s\n' "${installed[@]}" | awk '!seen[$0]++' >"$destdir$manifest"
installed+=("$manifest")

if ((live)); then
  if command -v systemd-sysusers >/dev/null; then systemd-sysusers /usr/lib/sysusers.d/containerctld.conf; else getent group containerctl >/dev/null || groupadd --system containerctl; fi
  if command -v systemd-tmpfiles >/dev/null; then systemd-tmpfiles --create /usr/lib/tmpfiles.d/containerctld.conf; fi
  reload
fi
if ((live)); then
  echo "==> done. Start it with: systemctl enable --now containerctld"
else
  echo "==> staged in $destdir; nothing on this system was changed"
fi
