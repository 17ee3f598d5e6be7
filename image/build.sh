#!/usr/bin/env bash
# Build image/out/onepad-<version>-arm64.img: a flashable SD-card image for a Raspberry Pi (3B+/4/400), made
# from Debian's own archive only. Run as root: `sudo npm run image`.
# ONEPAD_IMAGE_ARCH=amd64 builds the same system for amd64 instead (onepad-<version>-amd64.img, Debian's amd64
# kernel, no Pi firmware, native modules built natively): not flashable, it is what the boot test boots under
# qemu-system-x86_64 without arm64 emulation (docs/IMAGE.md, "Which checks run where").
#
#   1. base     debootstrap an arm64 Debian trixie (Node 20) with qemu-user-static, plus Debian's arm64 kernel
#               and the Raspberry Pi firmware (cached: image/.cache/base-<key>.tar.zst)
#   2. modules  `npm ci --omit=dev` inside an arm64 builder chroot (Debian's build-essential, python3, npm):
#               native modules are compiled for arm64 there (cached: modules-<lockfile key>.tar.zst)
#   3. rootfs   base + the app (dist/, node_modules) + units, firewall, network, user; units enabled
#   4. image    boot partition (FAT32: firmware, device trees, kernel, initrd, config.txt, cmdline.txt) made
#               with mkfs.vfat + mcopy; root partition with mkfs.ext4 -d; both put into an MBR disk with
#               sfdisk + dd. No loop devices, no device-mapper, no mounts of the image.
#
# Environment: ONEPAD_IMAGE_CACHE (default image/.cache), ONEPAD_IMAGE_OUT (default image/out),
# ONEPAD_MIRROR (default http://deb.debian.org/debian), ONEPAD_IMAGE_ARCH (arm64 or amd64, default arm64).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${ONEPAD_IMAGE_CACHE:-$REPO/image/.cache}
OUT=${ONEPAD_IMAGE_OUT:-$REPO/image/out}
MIRROR=${ONEPAD_MIRROR:-http://deb.debian.org/debian}
SUITE=trixie
VERSION=$(node -p "require('$REPO/package.json').version")

# ---------------------------------------------------------------------------------------------------------------
# Architecture: arm64 (the flashable Pi image) or amd64 (the same system for the boot test under KVM/TCG).

ARCH=${ONEPAD_IMAGE_ARCH:-arm64}
case $ARCH in
arm64) KERNEL_PKGS="linux-image-arm64 raspi-firmware" ;;
amd64) KERNEL_PKGS="linux-image-amd64" ;;
*)
	echo "ONEPAD_IMAGE_ARCH must be arm64 or amd64, not $ARCH" >&2
	exit 64
	;;
esac
HOST_ARCH=$(dpkg --print-architecture)
# Foreign chroots run through qemu-user (binfmt); a native one needs nothing.
emulated() { [ "$ARCH" != "$HOST_ARCH" ]; }
IMG=$OUT/onepad-$VERSION-$ARCH.img

# Bump a *_REV when the stage's recipe changes, so the cache is rebuilt.
BASE_REV=1
BASE_PKGS=systemd,systemd-sysv,udev,nodejs,nftables,iproute2,kmod,initramfs-tools,zstd
MODULES_REV=2
# Addons with no prebuild for linux-arm64-gnu, cross-compiled with node-gyp (serialport and canvas ship prebuilds).
CROSS_ADDONS="better-sqlite3 epoll rpio"
BUILD_PKGS="build-essential python3 npm"
BOOT_MB=256

START=$(date +%s)
log() { printf '[image %s +%ss] %s\n' "$(date -u +%H:%M:%S)" "$(($(date +%s) - START))" "$*"; }
die() {
	log "error: $*"
	exit 1
}

[ "$(id -u)" = 0 ] || die "run as root (debootstrap, chroot and file ownership need it)"

# Device trees, overlays and boot checks; rootfs trimming (also run on their own by test/systemd/boot-partition.test.ts).
# shellcheck source=image/boot-partition.sh
. "$REPO/image/boot-partition.sh"

# ---------------------------------------------------------------------------------------------------------------
# Host tools and arm64 emulation.

host_tools() {
	local missing=()
	command -v debootstrap >/dev/null || missing+=(debootstrap)
	if emulated; then
		[ -x /usr/bin/qemu-aarch64-static ] || missing+=(qemu-user-static)
		command -v update-binfmts >/dev/null || missing+=(binfmt-support)
		# Native modules are cross-compiled on the host (stage_modules_cross), not compiled under qemu-user.
		command -v aarch64-linux-gnu-g++ >/dev/null || missing+=(g++-aarch64-linux-gnu)
		command -v make >/dev/null || missing+=(make)
		command -v python3 >/dev/null || missing+=(python3)
	fi
	command -v mcopy >/dev/null || missing+=(mtools)
	command -v mkfs.vfat >/dev/null || missing+=(dosfstools)
	command -v mkfs.ext4 >/dev/null || missing+=(e2fsprogs)
	command -v sfdisk >/dev/null || missing+=(fdisk)
	command -v zstd >/dev/null || missing+=(zstd)
	command -v fdtoverlay >/dev/null || missing+=(device-tree-compiler)
	if [ ${#missing[@]} -gt 0 ]; then
		log "installing host tools: ${missing[*]}"
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
	fi
	emulated || return 0
	if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
		mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
	fi
	update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
	grep -q enabled /proc/sys/fs/binfmt_misc/qemu-aarch64 2>/dev/null ||
		die "qemu-aarch64 binfmt handler is not registered (qemu-user-static, binfmt-support)"
}

# ---------------------------------------------------------------------------------------------------------------
# Chroots: /proc and /dev are bound while a command runs, and always unmounted again.

MOUNTED=()
cleanup() {
	local m
	for ((i = ${#MOUNTED[@]} - 1; i >= 0; i--)); do
		m=${MOUNTED[i]}
		umount -l "$m" 2>/dev/null || true
	done
	MOUNTED=()
}
trap cleanup EXIT

chroot_mount() {
	local r=$1
	mount -t proc proc "$r/proc" && MOUNTED+=("$r/proc")
	mount --bind /dev "$r/dev" && MOUNTED+=("$r/dev")
	mount -t devpts devpts "$r/dev/pts" -o newinstance,ptmxmode=0666 && MOUNTED+=("$r/dev/pts")
	cp /etc/resolv.conf "$r/etc/resolv.conf"
	printf '#!/bin/sh\nexit 101\n' >"$r/usr/sbin/policy-rc.d"
	chmod 755 "$r/usr/sbin/policy-rc.d"
}

chroot_umount() {
	local r=$1
	cleanup
	rm -f "$r/usr/sbin/policy-rc.d" "$r/etc/resolv.conf"
}

# Run a command in the chroot with a clean environment.
in_chroot() {
	local r=$1
	shift
	chroot "$r" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
		DEBIAN_FRONTEND=noninteractive "$@"
}

key_of() { printf '%s' "$*" | sha256sum | cut -c1-16; }

pack() { tar -C "$1" --numeric-owner --xattrs -cf - . | zstd -q -T0 -3 -o "$2.tmp" && mv "$2.tmp" "$2"; }
unpack() {
	rm -rf "$2"
	mkdir -p "$2"
	zstd -q -dc "$1" | tar -C "$2" --numeric-owner --xattrs -xf -
}

# ---------------------------------------------------------------------------------------------------------------
# 1. base: debootstrap + kernel + firmware.

BASE_KEY=$(key_of "$BASE_REV $ARCH $SUITE $BASE_PKGS $KERNEL_PKGS")
BASE_TAR=$CACHE/base-$BASE_KEY.tar.zst

stage_base() {
	if [ -f "$BASE_TAR" ]; then
		log "base: cached ($BASE_TAR)"
		return
	fi
	local r=$CACHE/base.tmp
	mkdir -p "$CACHE/debs"
	if [ ! -f "$r/.debootstrap-done" ] || [ "$(cat "$r/.debootstrap-done")" != "$SUITE $BASE_PKGS" ]; then
		log "base: debootstrap $SUITE $ARCH$(emulated && echo ' (qemu-user: slow, ~15 min on 2 cores)')"
		rm -rf "$r"
		mkdir -p "$r"
		debootstrap --arch="$ARCH" --variant=minbase --cache-dir="$CACHE/debs" --include="$BASE_PKGS" \
			"$SUITE" "$r" "$MIRROR"
		echo "$SUITE $BASE_PKGS" >"$r/.debootstrap-done"
	fi
	log "base: kernel and firmware ($KERNEL_PKGS)"
	echo "deb $MIRROR $SUITE main non-free-firmware" >"$r/etc/apt/sources.list"
	# raspi-firmware's kernel hook copies the kernel here; the boot partition is assembled from it later.
	mkdir -p "$r/boot/firmware"
	chroot_mount "$r"
	in_chroot "$r" apt-get update -qq
	# shellcheck disable=SC2086
	in_chroot "$r" apt-get install -y -qq --no-install-recommends $KERNEL_PKGS
	in_chroot "$r" apt-get clean
	chroot_umount "$r"
	rm -rf "$r/var/lib/apt/lists/"* "$r/.debootstrap-done"
	log "base: packing"
	pack "$r" "$BASE_TAR"
	rm -rf "$r"
}

# ---------------------------------------------------------------------------------------------------------------
# 2. modules: production node_modules built for $ARCH in a builder chroot.

LOCK_SUM=$(sha256sum "$REPO/package-lock.json" | cut -c1-64)
MODULES_KEY=$(key_of "$MODULES_REV $BASE_KEY $BUILD_PKGS $LOCK_SUM $(emulated && echo "cross $CROSS_ADDONS")")
MODULES_TAR=$CACHE/modules-$MODULES_KEY.tar.zst

# The image's own Node headers (Debian's libnode-dev for the image's suite and nodejs), cached per base.
HEADERS_DIR=$CACHE/node-headers-$BASE_KEY

node_headers() {
	[ -f "$HEADERS_DIR/usr/include/node/node_version.h" ] && return
	local r=$CACHE/headers.tmp
	log "modules: the image's Node headers (libnode-dev from $SUITE)"
	unpack "$BASE_TAR" "$r"
	chroot_mount "$r"
	in_chroot "$r" apt-get update -qq
	in_chroot "$r" sh -c 'cd /tmp && apt-get download -qq "libnode-dev=$(dpkg-query -W -f "\${Depends}" nodejs |
		tr "," "\n" | sed -n "s/^ *libnode[0-9]* (= \(.*\))/\1/p")"'
	chroot_umount "$r"
	rm -rf "$HEADERS_DIR.tmp"
	dpkg-deb -x "$r"/tmp/libnode-dev_*.deb "$HEADERS_DIR.tmp"
	rm -rf "$r"
	[ -f "$HEADERS_DIR.tmp/usr/include/node/node_version.h" ] || die "libnode-dev has no include/node/node_version.h"
	mv "$HEADERS_DIR.tmp" "$HEADERS_DIR"
}

# The app's manifest for a production install in DIR: package-lock.json and package.json without scripts or
# devDependencies (the app is built on the host; the install takes only its dependencies).
app_manifest() {
	cp "$REPO/package-lock.json" "$1/"
	node -e "const p=require('$REPO/package.json'); delete p.scripts; delete p.devDependencies;
		require('fs').writeFileSync('$1/package.json', JSON.stringify(p, null, 2))"
}

# Cross build (arm64 on another host): npm ci on the host for linux/arm64/glibc without install scripts, then
# node-gyp with Debian's aarch64 cross toolchain against the image's Node headers. Loaded on arm64 in stage_rootfs.
stage_modules_cross() {
	node_headers
	local b=$CACHE/xbuild gyp
	gyp=$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js
	[ -f "$gyp" ] || die "node-gyp not found next to the host's npm ($gyp)"
	log "modules: npm ci --omit=dev for linux/arm64/glibc on the host; cross-compiling $CROSS_ADDONS"
	rm -rf "$b"
	mkdir -p "$b"
	app_manifest "$b"
	(cd "$b" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=warn --os=linux --cpu=arm64 \
		--libc=glibc)
	[ -d "$b/node_modules/@napi-rs/canvas-linux-arm64-gnu" ] || die "npm did not install @napi-rs/canvas-linux-arm64-gnu"
	[ -f "$b/node_modules/@serialport/bindings-cpp/prebuilds/linux-arm64/@serialport+bindings-cpp.armv8.glibc.node" ] ||
		die "@serialport/bindings-cpp has no linux-arm64 glibc prebuild"
	# Only the linux-arm64 glibc prebuild is kept (the musl one and other platforms' are dead weight).
	find "$b/node_modules/@serialport/bindings-cpp/prebuilds" -mindepth 1 -maxdepth 1 ! -name linux-arm64 -exec rm -rf {} +
	local a f
	for a in $CROSS_ADDONS; do
		(cd "$b/node_modules/$a" &&
			CC=aarch64-linux-gnu-gcc CXX=aarch64-linux-gnu-g++ LINK=aarch64-linux-gnu-g++ AR=aarch64-linux-gnu-ar \
				node "$gyp" rebuild --release --arch=arm64 --nodedir="$HEADERS_DIR/usr" -j "$(nproc)" --loglevel=warn) ||
			die "cross-compiling $a failed"
		rm -rf "$b/node_modules/$a/build/Release/obj.target" "$b/node_modules/$a/build/Release/.deps"
	done
	# Every native module in the tree must be an aarch64 ELF (no x86-64 or musl copy slips through).
	while IFS= read -r f; do
		aarch64-linux-gnu-readelf -h "$f" | grep -q 'Machine:.*AArch64' || die "$f is not an aarch64 ELF"
	done < <(find "$b/node_modules" -name '*.node' ! -name '*.musl.node')
	find "$b/node_modules" -name '*.musl.node' -delete
	pack "$b/node_modules" "$MODULES_TAR"
	rm -rf "$b"
}

stage_modules() {
	if [ -f "$MODULES_TAR" ]; then
		log "modules: cached ($MODULES_TAR)"
		return
	fi
	if emulated; then
		stage_modules_cross
		return
	fi
	local b=$CACHE/builder
	if [ "$(cat "$b/.builder-key" 2>/dev/null)" != "$BASE_KEY $BUILD_PKGS" ]; then
		log "modules: builder chroot (base + $BUILD_PKGS)"
		unpack "$BASE_TAR" "$b"
		chroot_mount "$b"
		in_chroot "$b" apt-get update -qq
		# shellcheck disable=SC2086
		in_chroot "$b" apt-get install -y -qq --no-install-recommends $BUILD_PKGS
		in_chroot "$b" apt-get clean
		chroot_umount "$b"
		echo "$BASE_KEY $BUILD_PKGS" >"$b/.builder-key"
	fi
	log "modules: npm ci --omit=dev for $ARCH$(emulated && echo ' (native modules compiled under qemu-user)')"
	rm -rf "$b/build"
	mkdir -p "$b/build"
	app_manifest "$b/build"
	# The host's CA bundle for the registry (a TLS-inspecting proxy has its own CA), if the host's npm uses one.
	local ca ca_env=()
	ca=$(npm config get cafile 2>/dev/null || true)
	[ -f "$ca" ] || ca=${NODE_EXTRA_CA_CERTS:-}
	if [ -n "$ca" ] && [ -f "$ca" ]; then
		cp "$ca" "$b/build/.ca.pem"
		ca_env=(npm_config_cafile=/build/.ca.pem NODE_EXTRA_CA_CERTS=/build/.ca.pem)
	fi
	chroot_mount "$b"
	in_chroot "$b" env "${ca_env[@]}" sh -c 'cd /build && npm ci --omit=dev --no-audit --no-fund --loglevel=warn'
	rm -f "$b/build/.ca.pem"
	chroot_umount "$b"
	pack "$b/build/node_modules" "$MODULES_TAR"
}

# ---------------------------------------------------------------------------------------------------------------
# 3. rootfs: base + app + system configuration.

WORK=$CACHE/work
R=$WORK/rootfs

stage_app_build() {
	log "app: npm run build (TypeScript -> dist/)"
	(cd "$REPO" && npx tsc -p tsconfig.build.json)
}

stage_rootfs() {
	log "rootfs: unpacking base"
	unpack "$BASE_TAR" "$R"
	local app=$R/usr/lib/onepad
	mkdir -p "$app/node_modules" "$app/systemd" "$app/docs"
	zstd -q -dc "$MODULES_TAR" | tar -C "$app/node_modules" --numeric-owner -xf -
	cp -a "$REPO/dist" "$app/dist"
	rm -rf "$app/dist/test" "$app/dist/bench"
	# Fonts are read next to the compiled display module.
	cp -a "$REPO/display/fonts" "$app/dist/display/fonts"
	node -e "const p=require('$REPO/package.json'); delete p.scripts; delete p.devDependencies;
		require('fs').writeFileSync('$app/package.json', JSON.stringify(p, null, 2))"
	cp "$REPO/systemd/watchdog.mjs" "$REPO/systemd/pairing-open.nft" "$REPO/systemd/pairing-close.nft" \
		"$REPO/systemd/onepad-pairing-mode" "$app/systemd/"
	cp "$REPO/docs/IMAGE.md" "$app/docs/" 2>/dev/null || true
	chown -R root:root "$app"
	chmod -R u=rwX,go=rX "$app"
	printf '#!/bin/sh\nexec /usr/bin/node /usr/lib/onepad/dist/device/service/main.js "$@"\n' >"$R/usr/bin/onepad"
	chmod 755 "$R/usr/bin/onepad"

	log "rootfs: units, network, firewall, user"
	local s=$REPO/systemd
	install -m 0644 "$s/onepad.service" "$s/onepad-pairing.service" "$s/onepad-pairing.path" "$R/usr/lib/systemd/system/"
	install -D -m 0644 "$s/onepad.sysusers" "$R/usr/lib/sysusers.d/onepad.conf"
	install -D -m 0644 "$s/10-onepad-link.network" "$R/etc/systemd/network/10-onepad-link.network"
	install -D -m 0644 "$s/wait-online.conf" "$R/etc/systemd/system/systemd-networkd-wait-online.service.d/onepad.conf"
	install -m 0755 "$s/nftables.conf" "$R/etc/nftables.conf"
	install -D -m 0644 "$s/60-onepad.rules" "$R/etc/udev/rules.d/60-onepad.rules"
	install -D -m 0644 "$s/boot/onepad-no-radio.conf" "$R/etc/modprobe.d/onepad-no-radio.conf"
	install -D -m 0644 "$s/onepad-modules.conf" "$R/etc/modules-load.d/onepad.conf"
	install -D -m 0644 "$s/onepad-config.json" "$R/etc/onepad/config.json"
	echo onepad >"$R/etc/hostname"
	printf '127.0.0.1\tlocalhost\n127.0.1.1\tonepad\n' >"$R/etc/hosts"
	cat >"$R/etc/fstab" <<-EOF
		LABEL=onepad-root  /              ext4  defaults,noatime  0 1
		LABEL=ONEPAD-BOOT  /boot/firmware vfat  ro,nofail,umask=0077  0 2
	EOF
	: >"$R/etc/machine-id"
	rm -f "$R/var/lib/dbus/machine-id"

	chroot_mount "$R"
	# The build fails unless every native module loads and works on $ARCH, in the image's own Node.
	log "rootfs: loading every native module on $ARCH$(emulated && echo ' (qemu-user)')"
	in_chroot "$R" sh -c 'cd /usr/lib/onepad && node -e "
		const D = require(\"better-sqlite3\"); const db = new D(\"/tmp/onepad-check.db\");
		db.exec(\"create table t (k integer primary key, v text)\");
		db.prepare(\"insert into t (v) values (?)\").run(\"arm\");
		if (db.prepare(\"select v from t where k = 1\").get().v !== \"arm\") throw new Error(\"sqlite round trip\");
		db.close();
		require(\"@napi-rs/canvas\").createCanvas(8, 8).getContext(\"2d\").fillRect(0, 0, 8, 8);
		require(\"@serialport/bindings-cpp\").autoDetect();
		require(\"epoll\");
		require(\"rpio\");
		console.log(\"native modules ok:\", process.arch, process.version);
	"' || die "a native module does not load or work on $ARCH"
	rm -f "$R/tmp/onepad-check.db"
	in_chroot "$R" systemd-sysusers
	# No login anywhere: root locked, no getty on the screen or a serial port, no SSH installed.
	in_chroot "$R" usermod -p '!*' root
	in_chroot "$R" systemctl enable onepad.service onepad-pairing.path nftables.service systemd-networkd.service
	in_chroot "$R" systemctl mask getty@.service autovt@.service serial-getty@.service console-getty.service \
		getty-static.service getty.target
	in_chroot "$R" systemctl set-default multi-user.target
	chroot_umount "$R"
	rootfs_trim "$R" || die "trimming the root file system failed"
	if in_chroot "$R" dpkg -l openssh-server 2>/dev/null | grep -q '^ii'; then die "openssh-server is installed"; fi
	awk -F: '$2 !~ /^[!*]/ { print "account with a password: " $1; bad = 1 } END { exit bad }' "$R/etc/shadow" ||
		die "an account has a usable password"
	rm -rf "$R/var/lib/apt/lists/"* "$R/var/cache/apt/"*.bin "$R/usr/share/doc/"* "$R/usr/share/man/"* \
		"$R/boot/firmware/"*
}

# ---------------------------------------------------------------------------------------------------------------
# 4. image: boot + root partitions, assembled with sfdisk and dd.

# The amd64 variant's boot partition: Debian's amd64 kernel and initrd, and the Pi's cmdline.txt (same root, same
# options; the boot test appends its console). No firmware: qemu boots the kernel directly (-kernel).
boot_dir_amd64() {
	local boot=$1 kver=$2
	cp "$R/boot/vmlinuz-$kver" "$boot/vmlinuz"
	cp "$R/boot/initrd.img-$kver" "$boot/initrd.img"
	cp "$REPO/systemd/boot/cmdline.txt" "$boot/"
}

stage_image() {
	local kver
	# The kernel's modules dir names its version (amd64 kernels have no /usr/lib/linux-image-* dtb dir).
	kver=$(basename "$(ls -d "$R"/usr/lib/modules/* | sort -V | tail -1)")
	log "image: kernel $kver"
	local boot=$WORK/boot
	rm -rf "$boot"
	mkdir -p "$boot"
	# The amd64 variant has no firmware: its boot partition holds what the boot test boots (boot_dir_amd64).
	if [ "$ARCH" = amd64 ]; then boot_dir_amd64 "$boot" "$kver"; else
	cp -a "$R/usr/lib/raspi-firmware/." "$boot/"
	boot_device_trees "$R/usr/lib/linux-image-$kver" "$boot" "$REPO/systemd/boot/onepad-no-radio.dts" ||
		die "device trees: a Pi the docs name is missing, or an overlay does not apply"
	if [ -d "$R/usr/lib/linux-image-$kver/overlays" ]; then cp -a "$R/usr/lib/linux-image-$kver/overlays" "$boot/"; fi
	cp "$R/boot/vmlinuz-$kver" "$boot/vmlinuz"
	cp "$R/boot/initrd.img-$kver" "$boot/initrd.img"
	cp "$REPO/systemd/boot/config.txt" "$REPO/systemd/boot/cmdline.txt" "$boot/"
	boot_check_config "$boot" || die "config.txt or cmdline.txt do not match the boot partition"
	fi

	local bootimg=$WORK/boot.vfat rootimg=$WORK/root.ext4
	rm -f "$bootimg" "$rootimg"
	truncate -s "${BOOT_MB}M" "$bootimg"
	mkfs.vfat -F 32 -n ONEPAD-BOOT "$bootimg" >/dev/null
	MTOOLS_SKIP_CHECK=1 mcopy -i "$bootimg" -s -p -Q "$boot"/* ::/

	local used_mb root_mb
	used_mb=$(du -sm --apparent-size "$R" | cut -f1)
	root_mb=$(((used_mb * 13 / 10 + 256 + 3) / 4 * 4))
	log "image: root file system ${used_mb} MiB used, ${root_mb} MiB partition"
	mkfs.ext4 -q -F -L onepad-root -d "$R" "$rootimg" "${root_mb}M"

	mkdir -p "$OUT"
	rm -f "$IMG" "$IMG.sha256"
	local start_mb=4
	truncate -s "$((start_mb + BOOT_MB + root_mb))M" "$IMG"
	sfdisk -q "$IMG" <<-EOF
		label: dos
		unit: sectors
		start=$((start_mb * 2048)), size=$((BOOT_MB * 2048)), type=c, bootable
		start=$(((start_mb + BOOT_MB) * 2048)), size=$((root_mb * 2048)), type=83
	EOF
	dd if="$bootimg" of="$IMG" bs=1M seek="$start_mb" conv=notrunc,sparse status=none
	dd if="$rootimg" of="$IMG" bs=1M seek="$((start_mb + BOOT_MB))" conv=notrunc,sparse status=none
	rm -f "$bootimg" "$rootimg"
	(cd "$OUT" && sha256sum "$(basename "$IMG")" >"$(basename "$IMG").sha256")
}

host_tools
stage_base
stage_modules
stage_app_build
stage_rootfs
stage_image
log "done: $IMG ($(du -h --apparent-size "$IMG" | cut -f1), $(du -h "$IMG" | cut -f1) on disk) in $(($(date +%s) - START)) s"
