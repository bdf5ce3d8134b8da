#!@busybox@ sh
# switch-to-configuration of the systemd system, run inside a running guest as NixOS's is:
#   switch | test    install this generation's /etc and units, systemctl daemon-reload, stop the
#                    services that are gone, restart the changed ones, start the new ones; exit 4
#                    naming the units that failed (as NixOS does)
#   boot             nothing to do: the profile already boots this generation next time
#   dry-activate     print what switch would stop, restart and start
#   --etc-only       (stage 2 at boot) only make /etc from this generation
bb=@busybox@
new=@out@
systemctl="$new/sw/bin/systemctl"
units="etc/systemd/system"

relink() { # TARGET LINK: make LINK point at TARGET, replacing an older link atomically
  [ "$("$bb" readlink "$2" 2>/dev/null)" = "$1" ] && return 0
  "$bb" ln -sfn "$1" "$2.new" && "$bb" mv -fT "$2.new" "$2"
}

# NixOS's setup-etc: /etc/static is the generation's etc; /etc/NAME links to /etc/static/NAME for
# each of its entries; links into /etc/static that lead nowhere now are removed; files of the
# guest's own (not links) are left alone.
setup_etc() {
  "$bb" mkdir -p /etc
  relink "$new/etc" /etc/static
  for f in /etc/* /etc/.[!.]*; do
    [ -L "$f" ] || continue
    case "$("$bb" readlink "$f")" in /etc/static/*) [ -e "$f" ] || "$bb" rm -f "$f" ;; esac
  done
  for f in "$new"/etc/*; do
    name=${f##*/}
    case "$name" in
      passwd|group|shadow)
        if [ ! -f "/etc/$name" ] || [ -L "/etc/$name" ]; then
          "$bb" rm -f "/etc/$name"
          "$bb" cp "$f" "/etc/$name"
          if [ "$name" = shadow ]; then "$bb" chmod 600 "/etc/$name"; else "$bb" chmod 644 "/etc/$name"; fi
        fi ;;
      *)
        if [ -L "/etc/$name" ] || [ ! -e "/etc/$name" ]; then relink "/etc/static/$name" "/etc/$name"; fi ;;
    esac
  done
}

services() { # SYSTEM: the names of its services
  for f in "$1/$units"/*.service; do [ -f "$f" ] && echo "${f##*/}"; done
}

case "$1" in
  --etc-only) setup_etc; exit 0 ;;
  switch|test|dry-activate) ;;
  boot) echo "the profile already boots $new at the next start"; exit 0 ;;
  *) echo "usage: switch-to-configuration switch|test|boot|dry-activate" >&2; exit 1 ;;
esac

old=$("$bb" readlink /run/current-system 2>/dev/null)
stop=""; restart=""; start=""
for u in $( [ -n "$old" ] && services "$old"); do
  if [ -f "$new/$units/$u" ]; then
    "$bb" cmp -s "$old/$units/$u" "$new/$units/$u" || restart="$restart $u"
  else
    stop="$stop $u"
  fi
done
for u in $(services "$new"); do
  [ -n "$old" ] && [ -f "$old/$units/$u" ] || start="$start $u"
done

if [ "$1" = dry-activate ]; then
  echo "would stop:${stop:- nothing}"
  echo "would restart:${restart:- nothing}"
  echo "would start:${start:- nothing}"
  exit 0
fi

if [ -n "$stop" ]; then
  echo "stopping the following units:$stop"
  "$systemctl" stop $stop || true
fi
echo "activating the configuration $new"
echo "setting up /etc..."
setup_etc
relink "$new/sw" /usr
relink "$new" /run/current-system
"$bb" hostname "$("$bb" cat "$new/etc/hostname")"
echo "reloading the system manager"
"$systemctl" daemon-reload || { echo "error: systemctl daemon-reload failed" >&2; exit 1; }
# A stopped unit that failed before must not stay listed as failed once it is gone.
[ -n "$stop" ] && "$systemctl" reset-failed $stop 2>/dev/null
if [ -n "$restart" ]; then
  echo "restarting the following units:$restart"
  "$systemctl" restart $restart
fi
if [ -n "$start" ]; then
  echo "starting the following units:$start"
  "$systemctl" start $start
fi

failed=""
for u in $restart $start; do
  if "$systemctl" is-failed --quiet "$u"; then
    failed="$failed $u ($("$systemctl" show -p Result --value "$u"), status $("$systemctl" show -p ExecMainStatus --value "$u"))"
    "$systemctl" status --no-pager --lines=5 "$u" >&2
  fi
done
if [ -n "$failed" ]; then
  echo "warning: the following units failed:$failed" >&2
  exit 4
fi
echo "done: $new is the running configuration"
