#!/usr/bin/env bash
# ContainerD's costs against raw LXC (and LXD with --with-lxd), measured side by side in one run,
# as root on Debian 12. Writes docs/PERFORMANCE.md unless --quick (CI's smoke run) is given.
#   ./bench.sh [--quick] [--with-lxd | --usage]
# The full run takes about 5 minutes on 2 cores: it creates 1000 containers and starts them all.
# --usage measures only what GetUsage and metrics scrapes cost (with 10, 100 and 1000 containers
# running), into that part of docs/PERFORMANCE.md.
set -euo pipefail
cd "$(dirname "$0")"
[[ $(id -u) == 0 ]] || { echo "bench.sh: run as root (containers are root-started, unprivileged)" >&2; exit 1; }
./scripts/install-deps.sh
# What users run: the NativeAOT CLI and the published daemon, both Release.
dotnet publish src/ContainerD.Cli --verbosity quiet -clp:ErrorsOnly
dotnet publish src/ContainerD.Daemon -c Release -r linux-x64 --verbosity quiet -clp:ErrorsOnly
output=()
[[ " $* " == *" --quick "* ]] || output=(--output docs/PERFORMANCE.md)
# Its daemons add root's pool to /etc/subuid: they do it in a private overlay /etc, as the tests do
# (with --with-lxd, LXD's packages are installed and purged inside it too).
exec tests/private-etc.sh dotnet run --project tests/ContainerD.Benchmarks -c Release --verbosity quiet -- "$@" "${output[@]}"
