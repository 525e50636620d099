#!/bin/bash
# tests/kernel/fetch-kernel.sh - Debian 12's own kernel for the kernel matrix
# (tests/kernel/kernel_test.sh boots it in qemu and runs the probe suite).
# The package is the one Debian's linux-image-cloud-amd64 metapackage depends
# on today (linux-image-6.1.0-NN-cloud-amd64: BTF built in, no modules
# needed), at its candidate version; its .deb is kept, versioned, in apt's
# archive cache like tools/deps' pacemaker-remote. Never installed.
#
# usage: fetch-kernel.sh           download the .deb unless it is cached (root)
#        fetch-kernel.sh --path    print the cached .deb's path; exit 1, naming
#                                  tools/deps, when it is not there (no network)
#        fetch-kernel.sh --check   exit 0 when cached, 1 otherwise (quiet)
#        fetch-kernel.sh --name    print "PACKAGE VERSION" (from apt's lists)
# Env: KERNEL_META [linux-image-cloud-amd64], KERNEL_ARCHIVES [/var/cache/apt/archives],
#      LOG [${TMPDIR:-/tmp}/mimamori-deps-apt.log] (apt's output)
set -uo pipefail

META=${KERNEL_META:-linux-image-cloud-amd64}
ARCHIVES=${KERNEL_ARCHIVES:-/var/cache/apt/archives}
LOG=${LOG:-${TMPDIR:-/tmp}/mimamori-deps-apt.log}
APT=(apt-get -q -o DPkg::Lock::Timeout=600)
ME=tests/kernel/fetch-kernel.sh

# PKG and VER of the kernel the metapackage's candidate depends on
resolve() {
    PKG=$(LC_ALL=C apt-cache depends "$META" 2>/dev/null |
        awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }')
    [ -n "$PKG" ] || return 1
    VER=$(LC_ALL=C apt-cache policy "$PKG" 2>/dev/null | awk '/Candidate:/ { print $2 }')
    [ -n "$VER" ] && [ "$VER" != "(none)" ]
}
deb_path() { printf '%s/%s_%s_amd64.deb' "$ARCHIVES" "$PKG" "${VER//:/%3a}"; }

download() {
    local tmp rc
    tmp=$(mktemp -d) || return 1
    chown _apt "$tmp" 2>/dev/null   # apt downloads as _apt
    ( cd "$tmp" && timeout 600 "${APT[@]}" download "$PKG=$VER" ) >> "$LOG" 2>&1 &&
        mv "$tmp/$(basename "$(deb_path)")" "$ARCHIVES/"
    rc=$?; rm -rf "$tmp"; return $rc
}

case ${1:-fetch} in
--name)
    resolve || { echo "$ME: apt's lists know no kernel for $META (run tools/deps)" >&2; exit 1; }
    echo "$PKG $VER" ;;
--check)
    resolve && [ -s "$(deb_path)" ] ;;
--path)
    if ! resolve; then
        echo "$ME: apt's lists know no kernel for $META: run tools/deps (as root)" >&2; exit 1
    fi
    if [ ! -s "$(deb_path)" ]; then
        echo "$ME: $PKG $VER is not in $ARCHIVES: run tools/deps (as root) to fetch it" >&2; exit 1
    fi
    deb_path ;;
fetch)
    if resolve && [ -s "$(deb_path)" ]; then exit 0; fi
    [ "$(id -u)" = 0 ] || { echo "$ME: fetching the kernel needs root (apt's cache)" >&2; exit 1; }
    # lists may be missing (fresh machine) or name a version the archive dropped
    if ! { resolve && download; }; then
        timeout 600 "${APT[@]}" update >> "$LOG" 2>&1 && resolve && download || {
            echo "$ME: cannot fetch Debian 12's kernel ($META -> ${PKG:-?} ${VER:-?}); see $LOG" >&2
            tail -n 10 "$LOG" >&2; exit 1; }
    fi
    echo "$ME: $PKG $VER in $ARCHIVES" ;;
-h|--help) sed -n '2,17s/^# \{0,1\}//p' "$0" ;;
*) echo "$ME: unknown argument $1 (see --help)" >&2; exit 2 ;;
esac
