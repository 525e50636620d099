#!/bin/sh
# ns-setup.sh - runs INSIDE the private mount namespace of the test libvirtd
# (start.sh: reaper -> unshare -m --propagation private -> this script).
# Redirects every path libvirtd/virtlogd/qemu write to into the state dir $BASE;
# nothing here leaks into the root namespace, and everything mounted here goes
# away with the last process of the namespace.
# usage: BASE=DIR ns-setup.sh [libvirtd args...]
set -e
B=${BASE:?BASE (state dir) not set}
mount --bind "$B/etc-libvirt" /etc/libvirt
# libvirtd resolves the compiled-in user/group "libvirt-qemu" BEFORE reading
# qemu.conf; start.sh writes these files only when the host lacks them
[ -f "$B/etc-passwd" ] && mount --bind "$B/etc-passwd" /etc/passwd
[ -f "$B/etc-group" ] && mount --bind "$B/etc-group" /etc/group
# /var and /run become overlays: writes land in $B/ovl/*/upper.  overlayfs
# refuses an upper dir on overlayfs/NFS: then a tmpfs living (and dying) with
# this namespace holds the upper dir.
ovl() { # dir
  mkdir -p "$B/ovl/$1/upper" "$B/ovl/$1/work"
  mount -t overlay overlay -o "lowerdir=/$1,upperdir=$B/ovl/$1/upper,workdir=$B/ovl/$1/work" "/$1" 2>/dev/null && return 0
  echo "ns-setup: overlay upper in $B/ovl/$1 refused, using a tmpfs" >&2
  mount -t tmpfs -o mode=0755 tmpfs "$B/ovl/$1"
  mkdir -p "$B/ovl/$1/upper" "$B/ovl/$1/work"
  mount -t overlay overlay -o "lowerdir=/$1,upperdir=$B/ovl/$1/upper,workdir=$B/ovl/$1/work" "/$1"
}
ovl var
ovl run
mkdir -p /run/libvirt /var/log/libvirt/qemu /var/lib/libvirt/qemu /var/cache/libvirt/qemu
mount --bind "$B/run-libvirt" /run/libvirt            # sockets + qemu/NAME.pid, visible outside
mount --bind "$B/logs/qemu" /var/log/libvirt/qemu     # per-guest qemu logs, visible outside
virtlogd -d -p "$B/virtlogd.pid"
exec libvirtd -d -p "$B/libvirtd.pid" "$@"
