#!/bin/bash
# tests/kernel/kernel_test.sh - runs the probe suite (tests/integration/probe_test)
# in Debian 12's own kernel (6.1, fetched by tools/deps through fetch-kernel.sh)
# booted in qemu: an initramfs of static busybox, the test, its victim and
# their ldd libraries; /init mounts proc, sys, devtmpfs, tmpfs and cgroup2
# (memory controller on, for the OOM case), runs the test and powers off.
# The test's stdout (TAP) comes out on ttyS1, its stderr on ttyS2, the
# kernel's console and init's progress on ttyS0: this script's stdout is the
# guest's TAP, then a Bail out! naming the stage that failed (kernel did not
# boot, init did not start, the test hung or failed, no power-off) with the
# console's tail.  A missing kernel is a failure naming tools/deps.
#
# usage: kernel_test.sh PROBE_TEST PROBE_VICTIM WORK_DIR EXPECT_VARIANT
#   EXPECT_VARIANT: the exit-probe variant this kernel calls for
#   (live-count for 6.1), passed on to probe_test
# Env: ACCEL [auto] kvm | tcg | auto (kvm when /dev/kvm is a character device),
#      KERNEL_TEST_TIMEOUT [240] s for the whole guest run, BOOT_TIMEOUT [90] s to
#      the kernel's banner, INIT_TIMEOUT [120] s to init's first line,
#      GUEST_SMP [2], GUEST_MEM [768] MiB; ASAN_OPTIONS, UBSAN_OPTIONS,
#      LSAN_OPTIONS are passed into the guest (meson's defaults when unset).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
[ $# = 4 ] || { echo "Bail out! usage: kernel_test.sh PROBE_TEST PROBE_VICTIM WORK_DIR EXPECT_VARIANT"; exit 2; }
PROBE_TEST=$1 VICTIM=$2 WORK=$3 EXPECT=$4
ACCEL=${ACCEL:-auto}
TOTAL=${KERNEL_TEST_TIMEOUT:-240}
BOOT_TIMEOUT=${BOOT_TIMEOUT:-90}
INIT_TIMEOUT=${INIT_TIMEOUT:-120}
QEMU=qemu-system-x86_64
T0=$EPOCHREALTIME

diag() { printf '# %s\n' "$@"; }
secs() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.1f", b - a}'; }
# the console's last lines as diagnostics, then Bail out!
bail() {
    if [ -s "$WORK/console.log" ]; then
        diag "last lines of the guest console ($WORK/console.log):"
        tail -n 25 "$WORK/console.log" | tr -d '\r' | sed 's/^/#   /'
    fi
    if [ -s "$WORK/stderr.log" ]; then
        diag "last lines of probe_test's stderr ($WORK/stderr.log):"
        tail -n 25 "$WORK/stderr.log" | tr -d '\r' | sed 's/^/#   /'
    fi
    echo "Bail out! $*"
    exit 1
}
need() { command -v "$1" > /dev/null || bail "$1 not found (package $2): run tools/deps"; }

need "$QEMU" qemu-system-x86
need busybox busybox-static
need cpio cpio
need dpkg-deb dpkg
need ldd libc-bin
BUSYBOX=$(command -v busybox)
file -L "$BUSYBOX" 2>/dev/null | grep -q 'statically linked' ||
    ldd "$BUSYBOX" 2>&1 | grep -q 'not a dynamic' ||
    bail "$BUSYBOX is not static (package busybox-static): run tools/deps"
for f in "$PROBE_TEST" "$VICTIM"; do [ -x "$f" ] || bail "$f missing: build first"; done
mkdir -p "$WORK" || bail "cannot create $WORK"
rm -f "$WORK"/console.log "$WORK"/tap.log "$WORK"/stderr.log

# ---- the kernel: the cached .deb, its vmlinuz extracted once per version
DEB=$("$HERE/fetch-kernel.sh" --path 2>&1) || bail "no Debian 12 kernel: $DEB"
KVER=$(basename "$DEB" .deb)
VMLINUZ=$WORK/vmlinuz-$KVER
if [ ! -s "$VMLINUZ" ]; then
    rm -rf "$WORK/deb" && mkdir -p "$WORK/deb" &&
        timeout 120 dpkg-deb --fsys-tarfile "$DEB" |
        tar -x -C "$WORK/deb" --wildcards './boot/vmlinuz-*' ||
        bail "cannot extract vmlinuz from $DEB"
    mv "$(compgen -G "$WORK/deb/boot/vmlinuz-*" | head -n 1)" "$VMLINUZ.tmp" &&
        mv "$VMLINUZ.tmp" "$VMLINUZ" || bail "no boot/vmlinuz-* in $DEB"
    rm -rf "$WORK/deb"
    find "$WORK" -maxdepth 1 -name 'vmlinuz-*' ! -name "vmlinuz-$KVER" -delete
fi
diag "kernel: $KVER (Debian's .deb $DEB)"

# ---- the initramfs
ROOT=$WORK/root
rm -rf "$ROOT" && mkdir -p "$ROOT"/{bin,dev,proc,sys,tmp,run} || bail "cannot create $ROOT"
cp "$BUSYBOX" "$ROOT/bin/busybox" && ln -s busybox "$ROOT/bin/sh" || bail "cannot copy busybox"
cp "$PROBE_TEST" "$ROOT/bin/probe_test" && cp "$VICTIM" "$ROOT/bin/probe_victim" ||
    bail "cannot copy the test binaries"
# every library either binary loads (ASan's and UBSan's too), at the path ldd names
# (ldd names each file first, "PATH:", when given several)
libs=$(ldd "$PROBE_TEST" "$VICTIM" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } NF > 1 && $1 ~ /^\// { print $1 }' | sort -u)
[ -n "$libs" ] || bail "ldd found no libraries for $PROBE_TEST"
if ldd "$PROBE_TEST" "$VICTIM" | grep -q 'not found'; then bail "ldd: a library is missing: $(ldd "$PROBE_TEST" | grep 'not found')"; fi
for lib in $libs; do
    mkdir -p "$ROOT$(dirname "$lib")" && cp -L "$lib" "$ROOT$lib" || bail "cannot copy $lib"
done
# sanitizer options as meson sets them when unset (a report fails the test)
ASAN=${ASAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_summary=1}
UBSAN=${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_summary=1:print_stacktrace=1}
LSAN=${LSAN_OPTIONS:-}
{
    echo '#!/bin/sh'
    echo '# written by tests/kernel/kernel_test.sh'
    echo 'export PATH=/bin'
    echo 'busybox mount -t devtmpfs dev /dev'
    echo 'exec 0</dev/console 1>/dev/console 2>&1'
    echo 'echo "mimamori-init: started, uptime $(busybox cat /proc/uptime)"'
    echo 'fail() { echo "mimamori-init: FAILED: $*"; busybox poweroff -f; }'
    echo 'busybox mount -t proc proc /proc || fail "mount proc"'
    echo 'busybox mount -t sysfs sys /sys || fail "mount sysfs"'
    echo 'busybox mount -t tmpfs tmp /tmp || fail "mount tmpfs /tmp"'
    echo 'busybox mount -t cgroup2 cgroup2 /sys/fs/cgroup || fail "mount cgroup2"'
    # a host's init does this; the OOM case needs the memory controller
    echo 'echo +memory > /sys/fs/cgroup/cgroup.subtree_control || fail "enable the memory controller"'
    echo '[ -e /sys/kernel/btf/vmlinux ] || fail "no /sys/kernel/btf/vmlinux"'
    printf 'export ASAN_OPTIONS=%q UBSAN_OPTIONS=%q LSAN_OPTIONS=%q TMPDIR=/tmp\n' "$ASAN" "$UBSAN" "$LSAN"
    echo 'echo "mimamori-init: running probe_test on $(busybox uname -r)"'
    printf '/bin/probe_test /bin/probe_victim /tmp/probe-test %q >/dev/ttyS1 2>/dev/ttyS2\n' "$EXPECT"
    echo 'rc=$?'
    echo 'echo "mimamori-init: probe_test exit $rc, uptime $(busybox cat /proc/uptime)"'
    echo 'busybox poweroff -f'
} > "$ROOT/init" && chmod 755 "$ROOT/init" || bail "cannot write $ROOT/init"
( cd "$ROOT" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 ) | gzip -1 > "$WORK/initrd.gz" ||
    bail "cannot pack the initramfs"
diag "initramfs: $(du -k "$WORK/initrd.gz" | cut -f1) KiB ($(echo "$libs" | wc -l) libraries), built in $(secs "$T0") s"

# ---- boot
case $ACCEL in
    kvm|tcg) ;;
    auto) if [ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]; then ACCEL=kvm; else ACCEL=tcg; fi ;;
    *) bail "ACCEL must be auto|kvm|tcg, not $ACCEL" ;;
esac
: > "$WORK/console.log"
T_BOOT=$EPOCHREALTIME
# -no-reboot + panic=-1: a panic ends qemu at once instead of hanging
timeout -k 5 "$TOTAL" "$QEMU" -nodefaults -display none -no-user-config -accel "$ACCEL" \
    -smp "${GUEST_SMP:-2}" -m "${GUEST_MEM:-768}" -no-reboot \
    -kernel "$VMLINUZ" -initrd "$WORK/initrd.gz" \
    -append "console=ttyS0 panic=-1 oops=panic" \
    -serial "file:$WORK/console.log" -serial "file:$WORK/tap.log" -serial "file:$WORK/stderr.log" \
    > "$WORK/qemu.log" 2>&1 &
QPID=$!
stop_qemu() { kill "$QPID" 2>/dev/null; wait "$QPID" 2>/dev/null; }
trap stop_qemu EXIT
has() { tr -d '\r' < "$WORK/console.log" | grep -q "$1"; }
stage=kernel
while kill -0 "$QPID" 2>/dev/null; do
    el=$(secs "$T_BOOT")
    case $stage in
        kernel) if has 'Linux version'; then stage=init
                elif awk -v e="$el" -v t="$BOOT_TIMEOUT" 'BEGIN{exit !(e > t)}'; then
                    stop_qemu; bail "the kernel did not boot: no banner on the console within $BOOT_TIMEOUT s ($ACCEL)"; fi ;;
        init) if has 'mimamori-init: started'; then stage=test
              elif awk -v e="$el" -v t="$INIT_TIMEOUT" 'BEGIN{exit !(e > t)}'; then
                  stop_qemu; bail "init did not start within $INIT_TIMEOUT s of boot ($ACCEL)"; fi ;;
        test) has 'mimamori-init: probe_test exit' && stage=poweroff ;;
    esac
    sleep 0.5
done
wait "$QPID"; qrc=$?
trap - EXIT
BOOT_S=$(secs "$T_BOOT")
tr -d '\r' < "$WORK/tap.log"
console=$(tr -d '\r' < "$WORK/console.log")
if [ -s "$WORK/stderr.log" ]; then
    diag "probe_test's stderr in the guest:"
    tr -d '\r' < "$WORK/stderr.log" | sed 's/^/#   /'
fi
diag "guest run: $BOOT_S s ($ACCEL, ${GUEST_SMP:-2} vCPU); $(grep -o 'mimamori-init: probe_test exit.*' <<< "$console")"
if [ $qrc = 124 ] || [ $qrc = 137 ]; then
    case $stage in
        kernel) bail "the kernel did not boot within $TOTAL s" ;;
        init) bail "init did not start within $TOTAL s" ;;
        test) bail "probe_test hung in the guest: no exit within $TOTAL s of boot (its TAP so far above)" ;;
        *) bail "the guest did not power off after probe_test ended (killed after $TOTAL s)" ;;
    esac
fi
[ $qrc = 0 ] || bail "qemu exited $qrc: $(tail -n 5 "$WORK/qemu.log")"
grep -q 'Kernel panic' <<< "$console" && bail "the guest kernel panicked: $(grep -m1 'Kernel panic' <<< "$console")"
grep -q 'mimamori-init: FAILED' <<< "$console" && bail "guest init: $(grep -m1 -o 'mimamori-init: FAILED.*' <<< "$console")"
grep -q 'Linux version' <<< "$console" || bail "the kernel did not boot (qemu ended without a banner)"
grep -q 'mimamori-init: started' <<< "$console" || bail "init did not start (the kernel ended without it)"
rc=$(sed -n 's/.*mimamori-init: probe_test exit \([0-9]*\).*/\1/p' <<< "$console" | head -n 1)
[ -n "$rc" ] || bail "probe_test did not finish (the guest powered off without its exit status)"
[ "$rc" = 0 ] || bail "probe_test exited $rc in the guest"
grep -q '^1\.\.[1-9]' "$WORK/tap.log" || bail "probe_test printed no TAP plan"
exit 0
