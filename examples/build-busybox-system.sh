# Builder for busybox-system.nix; runs under busybox sh with $busybox, $hostName, $variant set.
bb="$busybox"
"$bb" echo "building system '$hostName' variant $variant"
if [ "$failBuild" = 1 ]; then "$bb" echo "compiling the broken system"; "$bb" echo "error: this system does not build" >&2; exit 1; fi
i=0
while [ "$i" -lt "$buildDelay" ]; do i=$((i + 1)); "$bb" echo "step $i of $buildDelay"; "$bb" sleep 1; done
"$bb" mkdir -p "$out/sw/bin" "$out/bin" "$out/etc"
"$bb" --install -s "$out/sw/bin"
"$bb" echo "$variant" > "$out/etc/variant"
"$bb" echo "$hostName" > "$out/etc/hostname"

"$bb" cat > "$out/init" <<INIT
#!$bb sh
# PID 1 of the container. lxc-stop sends SIGPWR: exit cleanly on it. The trap comes first: PID 1
# ignores a signal it has no handler for, so a stop right after start would wait for its timeout.
trap 'echo "init: powering off"; exit 0' PWR TERM INT
if [ -n "$powerOffLog" ]; then trap 'echo "init: ignoring SIGPWR"; echo SIGPWR >> "$powerOffLog"' PWR; fi
export PATH=$out/sw/bin
echo "init: system $hostName variant $variant up as uid \$(id -u)"
hostname "$hostName"
while :; do sleep 3600 & wait \$!; done
INIT
"$bb" chmod 555 "$out/init"

"$bb" cat > "$out/bin/switch-to-configuration" <<SWITCH
#!$bb sh
# Records that activation ran, and of which system, so tests can see it happened inside.
export PATH=$out/sw/bin
mkdir -p /var/lib/activation
echo "\$1 $out" >> /var/lib/activation/log
echo "switch-to-configuration \$1: now running variant $variant"
if [ "$failSwitch" = 1 ]; then echo "activation of variant $variant failed: a service did not start" >&2; exit 3; fi
SWITCH
"$bb" chmod 555 "$out/bin/switch-to-configuration"
"$bb" echo "system built at $out"
