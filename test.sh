#!/usr/bin/env bash
# Runs every test, unit and integration (real LXC containers, Nix builds, a private dbus-daemon).
# Installs what is missing first. Needs root: containers are started by root, unprivileged.
set -euo pipefail
cd "$(dirname "$0")"
./scripts/install-deps.sh
echo "==> building the Cockpit page"
(cd cockpit && npm run --silent build)
echo "==> building"
dotnet build ContainerD.sln --no-restore --verbosity quiet -clp:ErrorsOnly
# Both binaries as install.sh publishes them: the tests run this CLI (NativeAOT) and install both.
dotnet publish src/ContainerD.Cli --verbosity quiet -clp:ErrorsOnly
dotnet publish src/ContainerD.Daemon -c Release -r linux-x64 --verbosity quiet -clp:ErrorsOnly
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
echo "==> testing"
# The suite runs in a private mount namespace with an overlay /etc (tests/private-etc.sh): its test
# users, groups and root's subuid lines land in a throw-away layer. Afterwards the host's account
# files must be byte for byte what they were.
etc_files=(passwd group shadow gshadow subuid subgid)
mkdir "$results/etc-before"
for f in "${etc_files[@]}"; do [[ -e /etc/$f ]] && cp -p "/etc/$f" "$results/etc-before/$f"; done
status=0
# The console logger at "minimal" prints each failure with its message and stack, nothing else.
tests/private-etc.sh dotnet test ContainerD.sln --no-build --verbosity quiet --logger "console;verbosity=minimal" --logger "trx" --results-directory "$results" "$@" || status=$?
for f in "${etc_files[@]}"; do
    if ! cmp -s "$results/etc-before/$f" "/etc/$f" 2>/dev/null && { [[ -e $results/etc-before/$f ]] || [[ -e /etc/$f ]]; }; then
        echo "test.sh: the suite changed the host's /etc/$f:" >&2
        diff -u "$results/etc-before/$f" "/etc/$f" >&2 || true
        status=1
    fi
done
# One closing line for people and CI: totals over every test assembly's TRX counters.
count() { grep -ho "<Counters [^>]*" "$results"/*.trx 2>/dev/null | grep -o " $1=\"[0-9]*\"" | grep -o "[0-9]*" | awk '{ s += $1 } END { print s + 0 }'; }
passed=$(count passed); failed=$(( $(count failed) + $(count error) + $(count timeout) + $(count aborted) )); skipped=$(count notExecuted)
echo "Tests: ${passed:-0} passed, ${failed:-0} failed, ${skipped:-0} skipped"
[[ ${passed:-0} -gt 0 ]] || { echo "test.sh: no test ran" >&2; status=1; }
exit $status
