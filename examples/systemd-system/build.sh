#!/usr/bin/env bash
# Builds the systemd system offline and prints its store path:
#   containerctl create web --system "$(examples/systemd-system/build.sh)"
#   examples/systemd-system/build.sh units="hello greeter" variant=2   # another generation
#
# 1. Debian's packages (packages.txt) are downloaded once with `apt-get download` into the cache
#    (the only network use; later runs reuse the .debs) and unpacked with `dpkg-deb -x` — nothing
#    is installed on the host.
# 2. Their files are merged into one /usr (as Debian's usrmerge does: bin, sbin, lib, lib64 move
#    under usr) and added to the store with `nix-store --add`: one content-addressed path, added
#    again only when the set of .debs changes.
# 3. system.nix, built by nix-build from builtins and the host's static busybox (no nixpkgs, no
#    network), makes the system: ./init (stage 2), ./etc, ./sw, ./bin/switch-to-configuration.
# NAME=VALUE arguments go to system.nix as --argstr NAME VALUE. Needs root (apt-get, nix-store).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${SYSTEMD_SYSTEM_CACHE:-$here/.cache}
mkdir -p "$cache/debs"
log() { echo "systemd-system: $*" >&2; }

mapfile -t packages < <(grep -v -e '^#' -e '^$' "$here/packages.txt")
missing=()
for p in "${packages[@]}"; do
  compgen -G "$cache/debs/${p}_*.deb" >/dev/null || missing+=("$p")
done
if ((${#missing[@]})); then
  log "downloading ${#missing[@]} Debian packages into $cache/debs"
  download() { (cd "$cache/debs" && apt-get download -q -o APT::Sandbox::User=root "${missing[@]}" >&2); }
  # A fresh machine may have no package lists yet.
  download || { apt-get update -q >&2 && download; }
fi

# The store path of the merged /usr, keyed by the exact .debs and this script's merge steps.
merge_version=1
key=$( { echo "$merge_version"; for p in "${packages[@]}"; do basename "$(compgen -G "$cache/debs/${p}_*.deb" | sort | tail -1)"; done; } | sha256sum | cut -c1-16)
usr=""
if [[ -f $cache/usr-$key ]]; then
  usr=$(cat "$cache/usr-$key")
  nix-store --check-validity "$usr" 2>/dev/null || usr=""
fi
if [[ -z $usr ]]; then
  log "unpacking and merging /usr"
  work=$(mktemp -d "$cache/build.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  tree=$work/debian-12-systemd-252
  mkdir "$tree"
  for p in "${packages[@]}"; do
    dpkg-deb -x "$(compgen -G "$cache/debs/${p}_*.deb" | sort | tail -1)" "$tree"
  done
  mkdir -p "$tree/usr"
  for d in bin sbin lib lib64; do
    if [[ -d $tree/$d && ! -L $tree/$d ]]; then
      mkdir -p "$tree/usr/$d"
      cp -a "$tree/$d/." "$tree/usr/$d/"
      rm -rf "${tree:?}/$d"
    fi
  done
  # What maintainer scripts would have made: /bin/sh is dash on Debian.
  ln -sfn dash "$tree/usr/bin/sh"
  rm -rf "$tree"/usr/share/{doc,man,info,locale,lintian,bug,bash-completion,zsh}
  usr=$(nix-store --add "$tree")
  echo "$usr" >"$cache/usr-$key"
  log "added $(du -sh "$usr" | cut -f1) of Debian files as $usr"
fi
# A GC root in the cache: a collection between two builds must not take the merged /usr away.
nix-store --realise "$usr" --add-root "$cache/usr-$key.root" --indirect >/dev/null

args=()
for a in "$@"; do
  [[ $a == *=* ]] || { echo "build.sh: arguments are NAME=VALUE (given: $a)" >&2; exit 2; }
  args+=(--argstr "${a%%=*}" "${a#*=}")
done
busybox=$(readlink -f "$(command -v busybox || echo /bin/busybox)")
# Each system built is a GC root in the cache too (keyed by its arguments), so the path printed
# stays valid until it is in a container's profile, which roots it from then on.
root="$cache/system-$(printf '%s\n' "$usr" "$@" | sha256sum | cut -c1-16)"
NIX_CONFIG="substituters =" nix-build "$here/system.nix" --out-link "$root" --quiet \
  --argstr usr "$usr" --argstr busybox "$busybox" "${args[@]}"
