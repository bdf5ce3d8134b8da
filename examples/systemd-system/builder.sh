# Builder of system.nix, run by busybox sh with $busybox $usr $hostName $variant $units set.
bb="$busybox"
"$bb" echo "building systemd system '$hostName' variant $variant with units: $units"
"$bb" mkdir -p "$out/bin" "$out/etc/systemd/system/multi-user.target.wants"
"$bb" ln -s "$usr/usr" "$out/sw"
"$bb" ln -s "$usr/usr/lib/systemd" "$out/systemd"

etc="$out/etc"
"$bb" echo "$hostName" > "$etc/hostname"
"$bb" echo "$variant" > "$etc/variant"
"$bb" cat > "$etc/os-release" <<EOF
NAME="ContainerD systemd example"
ID=containerd-systemd-example
ID_LIKE=nixos
PRETTY_NAME="ContainerD systemd example (Debian 12's systemd 252 from the Nix store), variant $variant"
VERSION_ID="$variant"
EOF
# Users and groups, as NixOS declares them; init copies them to /etc as files (users stay mutable).
"$bb" cat > "$etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/bash
messagebus:x:100:105:D-Bus:/nonexistent:/bin/false
systemd-network:x:998:998:systemd Network Management:/:/bin/false
systemd-timesync:x:997:997:systemd Time Synchronization:/:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
"$bb" cat > "$etc/group" <<'EOF'
root:x:0:
adm:x:4:
tty:x:5:
disk:x:6:
kmem:x:15:
dialout:x:20:
cdrom:x:24:
tape:x:26:
audio:x:29:
video:x:44:
utmp:x:43:
input:x:101:
kvm:x:102:
render:x:103:
sgx:x:104:
messagebus:x:105:
systemd-journal:x:999:
systemd-network:x:998:
systemd-timesync:x:997:
nogroup:x:65534:
EOF
"$bb" cat > "$etc/shadow" <<'EOF'
root:*:1::::::
messagebus:*:1::::::
systemd-network:*:1::::::
systemd-timesync:*:1::::::
nobody:*:1::::::
EOF
"$bb" cat > "$etc/nsswitch.conf" <<'EOF'
passwd: files
group: files
shadow: files
hosts: files
EOF
"$bb" cat > "$etc/hosts" <<EOF
127.0.0.1 localhost
::1 localhost
127.0.1.1 $hostName
EOF
"$bb" cat > "$etc/profile" <<'EOF'
export PATH=/run/current-system/sw/bin:/run/current-system/sw/sbin
PS1='[\u@\h:\w]# '
EOF
"$bb" ln -s /proc/self/mounts "$etc/mtab"

# No console login: this system ships no agetty; `containerctl shell` is the way in. Masked as
# NixOS masks a disabled unit (the getty generator adds console-getty.service in a container).
"$bb" ln -s /dev/null "$etc/systemd/system/console-getty.service"

# The generation's services.
for unit in $units; do
  file="$etc/systemd/system/$unit.service"
  case "$unit" in
    fail*) "$bb" cat > "$file" <<EOF
[Unit]
Description=ContainerD example $unit: a oneshot that fails
[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/false
[Install]
WantedBy=multi-user.target
EOF
    ;;
    stubborn*) "$bb" cat > "$file" <<EOF
[Unit]
Description=ContainerD example $unit: its stop never ends
[Service]
ExecStart=/bin/sleep infinity
ExecStop=/bin/sleep infinity
TimeoutStopSec=infinity
[Install]
WantedBy=multi-user.target
EOF
    ;;
    *) "$bb" cat > "$file" <<EOF
[Unit]
Description=ContainerD example service $unit
[Service]
ExecStart=/bin/sleep infinity
[Install]
WantedBy=multi-user.target
EOF
    ;;
  esac
  "$bb" ln -s "../$unit.service" "$etc/systemd/system/multi-user.target.wants/$unit.service"
done

subst() { "$bb" sed -e "s|@busybox@|$bb|g" -e "s|@out@|$out|g" -e "s|@usr@|$usr|g" "$1" > "$2"; "$bb" chmod 555 "$2"; }
subst "$initScript" "$out/init"
subst "$switchScript" "$out/bin/switch-to-configuration"
"$bb" echo "system built at $out"
