# shellcheck shell=bash
# The boot partition's device trees and checks, and the root file system's trimming: sourced by image/build.sh,
# and by test/systemd/boot-partition.test.ts (which runs these functions on their own, without root).
#
#   boot_device_trees KDIR BOOT [DTS...]  copy every Pi device tree the docs name (PI_DTBS, all must exist, no
#                                         others) from KDIR/broadcom into BOOT, compile each
#                                         overlay DTS with dtc and apply it with fdtoverlay to every tree copied;
#                                         fails when a tree is missing or an overlay does not apply
#   boot_check_config BOOT                config.txt names only overlays present in BOOT/overlays, and
#                                         cmdline.txt keeps cma=64M
#   rootfs_trim ROOT                      mask the apt/dpkg timers, drop the musl copies of native packages

# Every Pi the docs name (docs/IMAGE.md, supported hardware): upstream names, as the firmware loads them with
# upstream_kernel=1.
PI_DTBS="bcm2711-rpi-4-b bcm2711-rpi-400 bcm2837-rpi-3-b-plus bcm2837-rpi-3-b"

boot_fail() {
	printf 'boot-partition: %s\n' "$*" >&2
	return 1
}

boot_device_trees() {
	local kdir=$1 boot=$2
	shift 2
	local dt=$kdir/broadcom name f dts dtbo tmp
	[ -d "$dt" ] || boot_fail "no device trees in $dt" || return
	for name in $PI_DTBS; do
		[ -f "$dt/$name.dtb" ] || boot_fail "$name.dtb is not in the kernel package ($dt)" || return
	done
	# Only these: the overlays are checked against them (on a CM3, say, sdhci is the eMMC, not the Wi-Fi).
	for name in $PI_DTBS; do cp "$dt/$name.dtb" "$boot/"; done
	tmp=$(mktemp -d)
	for dts in "$@"; do
		dtbo=$tmp/$(basename "$dts" .dts).dtbo
		dtc -q -@ -I dts -O dtb -o "$dtbo" "$dts" || boot_fail "dtc failed on $dts" || { rm -rf "$tmp"; return 1; }
		for f in "$boot"/*.dtb; do
			if ! fdtoverlay -i "$f" -o "$f.new" "$dtbo" 2>"$tmp/err"; then
				boot_fail "$(basename "$dts") does not apply to $(basename "$f"): $(tr '\n' ' ' <"$tmp/err")"
				rm -rf "$tmp"
				return 1
			fi
			mv "$f.new" "$f"
		done
	done
	rm -rf "$tmp"
}

boot_check_config() {
	local boot=$1 line name bad=0
	while IFS= read -r line; do
		line=${line%%#*}
		case $line in
		dtoverlay=*)
			name=${line#dtoverlay=}
			name=${name%%,*}
			name=${name%%:*}
			name=${name//[[:space:]]/}
			[ -z "$name" ] && continue
			if [ ! -f "$boot/overlays/$name.dtbo" ]; then
				boot_fail "config.txt names overlay $name, but overlays/$name.dtbo is not on the boot partition" || bad=1
			fi
			;;
		esac
	done <"$boot/config.txt"
	grep -Eq '(^| )cma=64M( |$)' "$boot/cmdline.txt" || boot_fail "cmdline.txt lacks cma=64M (vc4 needs it)" || bad=1
	return "$bad"
}

rootfs_trim() {
	local r=$1 t d
	# No route out: nothing to fetch, and nothing to back up to. Masked, so no package can enable them again.
	mkdir -p "$r/etc/systemd/system"
	for t in apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer; do
		rm -f "$r/etc/systemd/system/timers.target.wants/$t"
		ln -sfn /dev/null "$r/etc/systemd/system/$t"
	done
	# npm installs every libc's prebuilt package; the image runs glibc. The glibc one must be there.
	for d in "$r"/usr/lib/onepad/node_modules/@napi-rs/canvas-linux-*-musl; do
		[ -e "$d" ] && rm -rf "$d"
	done
	if [ -d "$r/usr/lib/onepad/node_modules/@napi-rs/canvas" ]; then
		compgen -G "$r/usr/lib/onepad/node_modules/@napi-rs/canvas-linux-*-gnu" >/dev/null ||
			boot_fail "no glibc build of @napi-rs/canvas left in node_modules" || return
	fi
}
