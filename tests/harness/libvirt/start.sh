#!/bin/bash
# start.sh - run a REAL virtlogd + libvirtd (Debian 12: libvirt 9.0.0, qemu 7.2)
# for mimamori's integration tests: no systemd, no libvirt-daemon-system, in a
# private mount namespace, under a child subreaper (reaper.c, compiled into
# $BASE), all state in $BASE.  Defines guests from guests/*.xml, starts none.
#
# Env knobs [defaults]:
#   BASE [${TMPDIR:-/tmp}/mimamori-libvirt-$(id -un)]  state dir; not under /var,
#            /run or /etc (those are overlaid inside the namespace).  Pass the
#            same BASE to stop.sh.
#   GUESTS ["vm1:qboot"]  space-separated NAME:TEMPLATE[:UUID]; TEMPLATE is a file
#            guests/TEMPLATE.xml: qboot (idle 32 MiB guest, starts in < 1 s),
#            panic (panics ~0.3 s after start: CRASHED/PANICKED then
#            STOPPED/CRASHED), panic-seabios (the same through SeaBIOS and a
#            boot sector, ~5 s), migrate (64 MiB, RAMDATA_MIB of random bytes in
#            its RAM, for live migrations that take seconds).  UUID [random].
#   RAMDATA_MIB [16]  size of the migrate guest's random RAM contents
#   HOST_UUID [libvirt's own]  libvirtd.conf host_uuid: two instances on one
#            machine need different ones to migrate between them
#   ACCEL [auto]  kvm | tcg | auto (kvm when /dev/kvm is a character device that opens, else tcg)
#   FRESH [1]     wipe the previous state first
#   START_TIMEOUT [30]  seconds to wait for libvirtd
#   CAPS_CACHE [${TMPDIR:-/tmp}/mimamori-libvirt-cache-$(id -un)]  libvirt's qemu
#            capabilities cache is kept here and seeded into the next instance
#            (libvirtd up in ~0.7 s instead of ~3 s; libvirt re-probes a stale
#            entry by itself).  Empty: no cache.
#   extra arguments go to libvirtd
# Writes $BASE/env.sh (. it): LIBVIRT_DEFAULT_URI (virsh and libvirt clients
# use it), LIBVIRT_BASE, LIBVIRT_QEMU_PIDDIR (qemu NAME.pid / NAME.xml, seen
# from outside), LIBVIRT_ACCEL, LIBVIRT_GUESTS; and $BASE/guests.list
# ("NAME UUID TEMPLATE" per line).  A failed start stops what it had started.
# Needs root.  Dependencies are not installed here (tools/deps does).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BASE=${BASE:-${TMPDIR:-/tmp}/mimamori-libvirt-$(id -un)}
GUESTS=${GUESTS-vm1:qboot}
ACCEL=${ACCEL:-auto}
FRESH=${FRESH:-1}
START_TIMEOUT=${START_TIMEOUT:-30}
RAMDATA_MIB=${RAMDATA_MIB:-16}
HOST_UUID=${HOST_UUID:-}
CAPS_CACHE=${CAPS_CACHE-${TMPDIR:-/tmp}/mimamori-libvirt-cache-$(id -un)}
T0=$EPOCHREALTIME
log() { printf '[libvirt %6.2fs] %s\n' "$(awk -v a="$T0" -v b="$EPOCHREALTIME" 'BEGIN{print b-a}')" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (mount namespace, overlay mounts)"
MISSING=""
for p in libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86 qemu-system-data gcc binutils util-linux mount; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || MISSING="$MISSING $p"
done
[ -z "$MISSING" ] || die "missing Debian package(s):$MISSING -- install them with tools/deps"
mkdir -p "$BASE" && BASE=$(cd "$BASE" && pwd) || die "cannot create BASE=$BASE"
case $BASE/ in /var/*|/run/*|/etc/*) die "BASE=$BASE must not be under /var, /run or /etc";; esac
export BASE

case $ACCEL in
  # Never with the shell's <>: it opens with O_CREAT, and on a machine
  # without KVM made a regular file /dev/kvm that every later run took for
  # KVM (libvirt then refuses every KVM domain).  [ -c ] first, then an
  # open(O_RDWR) that cannot create anything (the device may vanish between).
  auto) if [ -c /dev/kvm ] && /usr/bin/python3 -c 'import os; os.close(os.open("/dev/kvm", os.O_RDWR))' 2>/dev/null
        then ACCEL=kvm; else ACCEL=tcg; fi ;;
  kvm|tcg) ;;
  *) die "ACCEL must be auto|kvm|tcg" ;;
esac
[ "$ACCEL" = kvm ] && DOMTYPE=kvm || DOMTYPE=qemu

# ---- a previous instance with this BASE: stop it (by pid files), then a clean slate
if [ -s "$BASE/reaper.pid" ] || [ -s "$BASE/libvirtd.pid" ]; then
  log "previous instance in $BASE, stopping it"; "$HERE/stop.sh" >&2 || true
fi
if [ "$FRESH" = 1 ]; then
  rm -rf "$BASE"/etc-libvirt "$BASE"/run-libvirt "$BASE"/ovl "$BASE"/logs "$BASE"/serial \
         "$BASE"/xml "$BASE"/img "$BASE"/etc-passwd "$BASE"/etc-group "$BASE"/guests.list
fi
rm -f "$BASE"/run-libvirt/*-sock* "$BASE"/libvirtd.pid "$BASE"/virtlogd.pid "$BASE"/env.sh "$BASE"/mntns
mkdir -p "$BASE"/etc-libvirt "$BASE"/run-libvirt "$BASE"/logs/qemu "$BASE"/serial "$BASE"/xml "$BASE"/img

STARTED=0
on_exit() {
  local rc=$?
  [ "$STARTED" = 1 ] && return 0
  log "start failed (rc=$rc): stopping what was started; logs in $BASE/logs"
  "$HERE/stop.sh" >&2 || true
  exit $(( rc == 0 ? 1 : rc ))
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- /etc/libvirt replacement: our qemu.conf + the distro's client confs
cp "$HERE/qemu.conf" "$BASE/etc-libvirt/qemu.conf"
for f in libvirt.conf libvirt-admin.conf; do
  if [ -f "/etc/libvirt/$f" ] && [ ! -e "$BASE/etc-libvirt/$f" ]; then cp "/etc/libvirt/$f" "$BASE/etc-libvirt/"; fi
done
sed "s#@LOG_FILE@#$BASE/logs/libvirtd.log#" "$HERE/libvirtd.conf" > "$BASE/libvirtd.conf"
[ -z "$HOST_UUID" ] || printf 'host_uuid = "%s"\n' "$HOST_UUID" >> "$BASE/libvirtd.conf"
# libvirtd insists on user/group libvirt-qemu (created by libvirt-daemon-system)
getent passwd libvirt-qemu > /dev/null || {
  cat /etc/passwd > "$BASE/etc-passwd"
  echo 'libvirt-qemu:x:64055:64055:Libvirt Qemu (test only):/var/lib/libvirt:/usr/sbin/nologin' >> "$BASE/etc-passwd"; }
getent group libvirt-qemu > /dev/null || {
  cat /etc/group > "$BASE/etc-group"; echo 'libvirt-qemu:x:64055:' >> "$BASE/etc-group"; }

# ---- subreaper, compiled into the state dir
if [ ! -x "$BASE/reaper" ] || [ "$HERE/reaper.c" -nt "$BASE/reaper" ]; then
  gcc -O2 -Wall -Wextra -o "$BASE/reaper.tmp" "$HERE/reaper.c" && mv "$BASE/reaper.tmp" "$BASE/reaper" \
    || die "cannot build the reaper (gcc)"
fi

# ---- guests: templates -> $BASE/xml/NAME.xml
# build_kernel NAME [AS-ARGS...]: $BASE/img/NAME.kernel from guests/guest-kernel.S
# (panic: writes pvpanic; idle, with IDLE defined: halts), once per state dir
build_kernel() {
  local name=$1; shift
  [ -s "$BASE/img/$name.kernel" ] && [ "$BASE/img/$name.kernel" -nt "$HERE/guests/guest-kernel.S" ] && return 0
  as --32 "$@" "$HERE/guests/guest-kernel.S" -o "$BASE/img/$name-kernel.o" &&
    ld -m elf_i386 -Ttext 0 --oformat binary -o "$BASE/img/$name.kernel" "$BASE/img/$name-kernel.o" \
    || die "cannot build $name.kernel from guests/guest-kernel.S (binutils)"
  rm -f "$BASE/img/$name-kernel.o"
}
: > "$BASE/guests.list"
NAMES=""
for g in $GUESTS; do
  IFS=: read -r name tmpl uuid <<< "$g"
  [ -n "$name" ] && [ -n "$tmpl" ] || die "GUESTS entry '$g' is not NAME:TEMPLATE[:UUID]"
  [ -f "$HERE/guests/$tmpl.xml" ] || die "no guest template guests/$tmpl.xml (for $name)"
  case " $NAMES " in *" $name "*) die "guest name $name given twice";; esac
  [ -n "$uuid" ] || uuid=$(cat /proc/sys/kernel/random/uuid)
  sed -e "s#@NAME@#$name#g" -e "s#@UUID@#$uuid#g" -e "s#@DOMTYPE@#$DOMTYPE#g" \
      -e "s#@SERIAL_LOG@#$BASE/serial/$name.log#g" -e "s#@DISK@#$BASE/img/$name.img#g" \
      -e "s#@KERNEL@#$BASE/img/panic.kernel#g" \
      -e "s#@IDLE_KERNEL@#$BASE/img/idle.kernel#g" -e "s#@RAMDATA@#$BASE/img/$name.ramdata#g" \
      "$HERE/guests/$tmpl.xml" > "$BASE/xml/$name.xml"
  # each SeaBIOS pvpanic guest boots its own copy of the boot sector (qemu locks images)
  if grep -q '@DISK@' "$HERE/guests/$tmpl.xml"; then install -m 0644 "$HERE/guests/panic.img" "$BASE/img/$name.img"; fi
  if grep -q "@KERNEL@" "$HERE/guests/$tmpl.xml"; then build_kernel panic; fi
  if grep -q "@IDLE_KERNEL@" "$HERE/guests/$tmpl.xml"; then build_kernel idle --defsym IDLE=1; fi
  if grep -q "@RAMDATA@" "$HERE/guests/$tmpl.xml"; then
    head -c "$((RAMDATA_MIB * 1024 * 1024))" /dev/urandom > "$BASE/img/$name.ramdata" || die "cannot write $BASE/img/$name.ramdata"
  fi
  echo "$name $uuid $tmpl" >> "$BASE/guests.list"
  NAMES="$NAMES $name"
done

# ---- seed libvirt's qemu capabilities cache (the overlay's upper dir of /var)
CAPS_DIR=$BASE/ovl/var/upper/cache/libvirt/qemu/capabilities
if [ -n "$CAPS_CACHE" ] && [ ! -e "$CAPS_DIR" ] && ls "$CAPS_CACHE"/*.xml > /dev/null 2>&1; then
  mkdir -p "$CAPS_DIR" && cp -p "$CAPS_CACHE"/*.xml "$CAPS_DIR/" || log "warning: cannot seed the capabilities cache"
fi

# ---- daemons: reaper -> unshare -m -> ns-setup.sh -> virtlogd -d, libvirtd -d
# (setsid: own session, so a test's Ctrl-C or process-group kill does not hit them)
setsid "$BASE/reaper" unshare -m --propagation private "$HERE/ns-setup.sh" -f "$BASE/libvirtd.conf" "$@" \
   < /dev/null >> "$BASE/logs/reaper.log" 2>&1 &
echo $! > "$BASE/reaper.pid"
URI="qemu:///system?socket=$BASE/run-libvirt/libvirt-sock"
end=$(( ${EPOCHREALTIME%.*} + START_TIMEOUT )); ok=0
while (( ${EPOCHREALTIME%.*} < end )); do
  if [ -S "$BASE/run-libvirt/libvirt-sock" ] && [ -s "$BASE/libvirtd.pid" ] &&
     timeout 10 virsh -q -c "$URI" version > /dev/null 2>&1; then ok=1; break; fi
  [ -d "/proc/$(cat "$BASE/reaper.pid")" ] || break     # reaper gone: ns-setup failed
  sleep 0.05
done
[ $ok = 1 ] || { tail -5 "$BASE/logs/reaper.log" >&2; die "step 'libvirtd start': no answer within ${START_TIMEOUT}s, or the reaper exited (logs: $BASE/logs/reaper.log, $BASE/logs/)"; }
# the mount namespace, to check at stop that nothing keeps it (and its mounts) alive
readlink "/proc/$(cat "$BASE/libvirtd.pid")/ns/mnt" > "$BASE/mntns"
log "libvirtd up (reaper $(cat "$BASE/reaper.pid"), virtlogd $(cat "$BASE/virtlogd.pid"), libvirtd $(cat "$BASE/libvirtd.pid"), accel $ACCEL)"
for name in $NAMES; do
  timeout 30 virsh -q -c "$URI" define "$BASE/xml/$name.xml" > /dev/null || die "step 'define $name' failed or took over 30s ($BASE/xml/$name.xml; logs: $BASE/logs/)"
done

# ---- keep the capabilities libvirtd probed for the next start
if [ -n "$CAPS_CACHE" ] && ls "$CAPS_DIR"/*.xml > /dev/null 2>&1 && mkdir -p "$CAPS_CACHE" 2>/dev/null; then
  for f in "$CAPS_DIR"/*.xml; do
    cmp -s "$f" "$CAPS_CACHE/${f##*/}" && continue
    cp -p "$f" "$CAPS_CACHE/.${f##*/}.$$" && mv -f "$CAPS_CACHE/.${f##*/}.$$" "$CAPS_CACHE/${f##*/}" || true
  done
fi

{
  echo "# written by tests/harness/libvirt/start.sh; . this file"
  printf 'export LIBVIRT_DEFAULT_URI=%q\n' "$URI"
  printf 'export LIBVIRT_BASE=%q LIBVIRT_QEMU_PIDDIR=%q\n' "$BASE" "$BASE/run-libvirt/qemu"
  printf 'export LIBVIRT_ACCEL=%q LIBVIRT_GUESTS=%q\n' "$ACCEL" "${NAMES# }"
} > "$BASE/env.sh.tmp"
mv "$BASE/env.sh.tmp" "$BASE/env.sh"
STARTED=1
log "defined:${NAMES:- (none)} ($ACCEL); client: . $BASE/env.sh"
cat "$BASE/env.sh"
