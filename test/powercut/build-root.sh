#!/usr/bin/env bash
# Build the power-cut test's guest root file system (amd64, Debian trixie minbase + Debian's own kernel) and
# cache it keyed by its inputs: <cache>/root-<key>/{root.ext4,vmlinuz,initrd.img}. The app does not go in here:
# it goes on its own small disk (test/powercut/build-app.ts), so a code change never rebuilds the root.
#
# Run as root (debootstrap). Environment: ONEPAD_POWERCUT_CACHE (default test/powercut/.cache),
# ONEPAD_MIRROR (default http://deb.debian.org/debian). Prints the cache dir on its last line.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CACHE=${ONEPAD_POWERCUT_CACHE:-$REPO/test/powercut/.cache}
MIRROR=${ONEPAD_MIRROR:-http://deb.debian.org/debian}
SUITE=trixie
# Bump ROOT_REV when the recipe below changes.
ROOT_REV=2
PKGS=linux-image-amd64,initramfs-tools,kmod,e2fsprogs
KEY=$(printf '%s' "$ROOT_REV $SUITE $PKGS" | sha256sum | cut -c1-16)
OUT=$CACHE/root-$KEY
START=$(date +%s)
log() { printf '[powercut-root +%ss] %s\n' "$(($(date +%s) - START))" "$*" >&2; }

if [ -f "$OUT/done" ]; then
	log "cached: $OUT"
	echo "$OUT"
	exit 0
fi
[ "$(id -u)" = 0 ] || { log "error: run as root (debootstrap)"; exit 1; }

missing=()
command -v debootstrap >/dev/null || missing+=(debootstrap)
command -v mkfs.ext4 >/dev/null || missing+=(e2fsprogs)
if [ ${#missing[@]} -gt 0 ]; then
	log "installing host tools: ${missing[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

R=$CACHE/root.tmp
rm -rf "$R" "$OUT.tmp"
mkdir -p "$R" "$CACHE/debs" "$OUT.tmp"
log "debootstrap $SUITE amd64 minbase + $PKGS"
debootstrap --arch=amd64 --variant=minbase --cache-dir="$CACHE/debs" --include="$PKGS" "$SUITE" "$R" "$MIRROR" >&2
kver=$(basename "$(ls -d "$R"/lib/modules/* | sort -V | tail -1)")
[ -f "$R/boot/initrd.img-$kver" ] || {
	log "initrd: update-initramfs"
	mount -t proc proc "$R/proc"
	chroot "$R" update-initramfs -c -k "$kver" >&2 || true
	umount "$R/proc"
}
cp "$R/boot/vmlinuz-$kver" "$OUT.tmp/vmlinuz"
cp "$R/boot/initrd.img-$kver" "$OUT.tmp/initrd.img"
# Mount points for the test's disks; no login, no network configuration at all.
mkdir -p "$R/opt/onepad" "$R/data"
# PID 1: mount the app disk (second virtio disk) read-only and hand over to its init script, so a code change
# never touches this root.
cat >"$R/sbin/onepad-powercut-init" <<-'INIT'
	#!/bin/sh
	mount -t proc proc /proc
	mount -t sysfs sysfs /sys
	mount -t devtmpfs devtmpfs /dev 2>/dev/null
	mount -o ro /dev/vdb /opt/onepad || { echo "powercut-init: no app disk"; exec /bin/sh; }
	exec /opt/onepad/init.sh
INIT
chmod 755 "$R/sbin/onepad-powercut-init"
rm -rf "$R/var/cache/apt/"* "$R/var/lib/apt/lists/"* "$R/usr/share/doc/"* "$R/usr/share/man/"*
echo powercut >"$R/etc/hostname"
used_mb=$(du -sm --apparent-size "$R" | cut -f1)
log "root.ext4: ${used_mb} MiB used"
mkfs.ext4 -q -F -L pc-root -d "$R" "$OUT.tmp/root.ext4" "$((used_mb * 12 / 10 + 64))M"
echo "$kver" >"$OUT.tmp/kernel-version"
rm -rf "$R"
touch "$OUT.tmp/done"
rm -rf "$OUT"
mv "$OUT.tmp" "$OUT"
log "built $OUT (kernel $kver)"
echo "$OUT"
