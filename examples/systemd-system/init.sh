#!@busybox@ sh
# Stage 2 of the systemd system (what NixOS's stage-2-init does for a container), PID 1 until it
# execs systemd. It runs under the store's static busybox because nothing else can run yet: Debian's
# binaries need /lib64/ld-linux-x86-64.so.2, which this script is about to link into the store.
bb=@busybox@
system=@out@
"$bb" echo "stage 2: booting $system"

# 1. The paths a Debian binary expects, as links into the store (the container's root is a
#    writable skeleton; nothing of the host is mounted). Debian's own merged-/usr layout.
relink() { # TARGET LINK: make LINK point at TARGET, replacing an older link atomically
  [ "$("$bb" readlink "$2" 2>/dev/null)" = "$1" ] && return 0
  "$bb" ln -sfn "$1" "$2.new" && "$bb" mv -fT "$2.new" "$2"
}
relink "$system/sw" /usr
for d in bin sbin lib lib64; do relink "usr/$d" "/$d"; done

# 2. /run, mounted before systemd as NixOS does (systemd leaves a mounted /run alone), and the
#    links to the running system that switch-to-configuration moves on.
"$bb" mount -t tmpfs -o mode=0755,nosuid,nodev,size=10% tmpfs /run
"$bb" ln -s "$system" /run/current-system
"$bb" ln -s "$system" /run/booted-system

# 3. /etc from the store (NixOS's setup-etc): /etc/static is this generation's etc, each of its
#    entries linked from /etc. Users and groups are copied, not linked (NixOS's update-users-groups
#    writes them as files; systemd-sysusers may add to them). machine-id is empty: systemd makes
#    a transient one for this boot.
"$bb" sh "$system/bin/switch-to-configuration" --etc-only
[ -e /etc/machine-id ] || : > /etc/machine-id
"$bb" mkdir -p /var/log /var/lib /var/tmp /root
"$bb" hostname "$("$bb" cat "$system/etc/hostname")"

# 4. systemd, as PID 1 (exec keeps the pid).
"$bb" echo "stage 2: starting systemd"
exec /lib/systemd/systemd
