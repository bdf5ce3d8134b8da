#!/usr/bin/env bash
# Installs what ContainerD needs on Debian 12, only what is missing: LXC, uidmap (newuidmap),
# Nix, dbus, a static busybox (the example system is built from it), nftables and iproute2 (veth
# links, port forwards), zlib for the NativeAOT link of containerctl, tmux (the tests' real
# terminal for `shell`) — and restores .NET packages. nix-setup-systemd makes the nixbld build
# users and /etc/nix/nix.conf: without it, root's nix-build fails at once with "the group 'nixbld'
# specified in 'build-users-group' does not exist".
set -euo pipefail
packages=(lxc uidmap nix-bin nix-setup-systemd dbus busybox-static nftables iproute2 zlib1g-dev tmux)
# The Cockpit page's tests: Debian's Cockpit (cockpit-system is its shell, with the menu) and the
# Chromium that playwright-core drives (its own browser download is not used).
packages+=(cockpit-ws cockpit-bridge cockpit-system chromium)
# The second host of the remote tests (tests/ContainerD.Testing/SecondHost.cs) runs Debian's sshd with
# a config of its own on loopback; containerctl -H and nix-copy-closure use the ssh client.
packages+=(openssh-server openssh-client)
# ContainerAttackTests compile their mount-attack helper statically (gcc -static needs libc6-dev).
packages+=(gcc libc6-dev)
# The metrics tests check `containerctl metrics` with promtool, which only Debian's prometheus
# package ships (it brings the server too: installed without starting it, below).
packages+=(prometheus)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "==> installing Debian packages: ${missing[*]}"
  [[ $(id -u) == 0 ]] || { echo "install-deps: run as root to install ${missing[*]}" >&2; exit 1; }
  apt-get update -q
  # The tests need programs, not services: prometheus, openssh-server and cockpit would start
  # their daemons on a host that runs systemd (a Prometheus on :9090, a second sshd). A
  # policy-rc.d that refuses every start keeps them stopped; one the admin has stays untouched.
  guard=
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    guard=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\n# containerd install-deps.sh: no service starts while it installs\nexit 101\n' > "$guard"
    chmod 755 "$guard"
    trap 'rm -f "$guard"' EXIT
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  [[ -n $guard ]] && rm -f "$guard"
  trap - EXIT
fi
command -v dotnet >/dev/null || { echo "install-deps: the .NET 10 SDK (dotnet) is not on PATH" >&2; exit 1; }
echo "==> restoring .NET packages"
dotnet restore "$(dirname "$0")/../ContainerD.sln" --verbosity quiet
# The Cockpit page's npm packages, as cockpit/package-lock.json pins them (again only when the lock changed).
command -v npm >/dev/null || { echo "install-deps: npm (node 20) is not on PATH: the Cockpit page cannot be built" >&2; exit 1; }
cockpit=$(dirname "$0")/../cockpit
if [[ ! $cockpit/node_modules/.package-lock.json -nt $cockpit/package-lock.json ]]; then
  echo "==> installing the Cockpit page's npm packages"
  (cd "$cockpit" && npm ci --no-audit --no-fund --loglevel=error)
fi
