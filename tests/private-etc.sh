#!/usr/bin/env bash
# Runs a command in a private mount namespace whose /etc is an overlay over the host's /etc: what
# the command changes there (useradd, groupadd, usermod, root's lines in /etc/subuid and
# /etc/subgid) lands in a throw-away upper directory, and the host's /etc stays as it was.
# test.sh runs the whole suite this way; a focused run needs it too:
#   tests/private-etc.sh dotnet test tests/ContainerD.IntegrationTests --no-build --filter …
# --upper DIR keeps the overlay's layers in DIR (DIR/upper, DIR/work): files put in DIR/upper
# beforehand shadow the host's (a test's "fresh host"). Without it a temporary dir is used and
# removed when the command ends. Everything the command starts shares the namespace; nothing it
# mounts propagates back to the host.
set -euo pipefail
if [[ ${1:-} == --inside ]]; then
    # Second stage, already in the new namespace (propagation private: nothing leaks out).
    layers=$2
    shift 2
    mkdir -p "$layers/upper" "$layers/work"
    mount -t overlay ctd-private-etc -o "lowerdir=/etc,upperdir=$layers/upper,workdir=$layers/work" /etc
    exec "$@"
fi
[[ $(id -u) == 0 ]] || { echo "private-etc.sh: run as root (it mounts an overlay on /etc)" >&2; exit 1; }
layers=
if [[ ${1:-} == --upper ]]; then
    layers=$(realpath -m "$2")
    shift 2
fi
[[ ${1:-} == -- ]] && shift
[[ $# -gt 0 ]] || { echo "usage: private-etc.sh [--upper DIR] [--] COMMAND [ARGS...]" >&2; exit 2; }
if [[ -n $layers ]]; then
    exec unshare --mount --propagation private -- "$0" --inside "$layers" "$@"
fi
layers=$(mktemp -d "${TMPDIR:-/tmp}/ctd-private-etc.XXXXXX")
status=0
unshare --mount --propagation private -- "$0" --inside "$layers" "$@" || status=$?
rm -rf "$layers"
exit $status
