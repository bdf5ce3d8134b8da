#!/usr/bin/env bash
# Puts the host's Nix client into the store and prints its store path, for a container with
# nix: { daemon: true } to run (Debian's Nix is not in the store, and the store is all a container sees):
#   nix-client=$(examples/nix-client/build.sh)
#   containerctl run web -- env NIX_REMOTE=daemon HOME=/root \
#     $nix_client/lib/ld-linux-x86-64.so.2 --argv0 nix-build --library-path $nix_client/lib $nix_client/bin/nix FILE.nix
# Debian's /usr/bin/nix (one binary for nix, nix-build, nix-store…, picked by argv[0]), the
# libraries ldd finds for it and the ELF loader, unpatched, copied into one directory and added
# with `nix-store --add`: one content-addressed path (~70 MB: libicudata alone is 30), the same
# path again while the host's packages stay the same. The loader runs it (--argv0 names the
# command), so the guest needs no /lib64 of its own. Nothing is installed on the host. Needs root.
set -euo pipefail
nix=$(readlink -f "$(command -v nix)")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
out=$work/nix-client
mkdir -p "$out/bin" "$out/lib"
cp "$nix" "$out/bin/nix"
# "libfoo.so.1 => /lib/…/libfoo.so.1 (0x…)" and the loader's own line, "/lib64/ld-linux-x86-64.so.2 (0x…)".
ldd "$nix" | while read -r first arrow path _; do
  if [[ $arrow == "=>" && $path == /* ]]; then
    cp -L "$path" "$out/lib/$first"
  elif [[ $first == /* ]]; then
    cp -L "$first" "$out/lib/$(basename "$first")"
  fi
done
chmod -R u=rwX,go=rX "$out"
nix-store --add "$out"
