#!/bin/sh
# Boot test only (written into the raspi3b check's copy of the root fs, test/image/raspi3b.ts): once onepad
# listens on the link and the pool holds bytes from /dev/hwrng (hrng-status.json), or 20 minutes after the start
# (guest time), print what the host checks between two markers on the serial console.
start=$(date +%s)
last=0
while [ $(($(date +%s) - start)) -lt 1200 ]; do
	ss -Hltn | grep -q '10\.254\.0\.1:4747 ' && grep -q '"poolBytes":[1-9]' /var/lib/onepad/hrng-status.json 2>/dev/null &&
		break
	if [ $(($(date +%s) - last)) -ge 60 ]; then
		last=$(date +%s)
		echo "ONEPAD-PROGRESS $((last - start)) s: onepad $(systemctl is-active onepad.service), restarts $(systemctl show -P NRestarts onepad.service): $(journalctl -b -u onepad.service --no-pager -n 1 -o cat | cut -c1-200)"
	fi
	sleep 2
done
# The service outlives one watchdog period: it is killed then unless its pings arrive.
sleep 35
pid=$(systemctl show -P MainPID onepad.service)
mmc=$(readlink -f /sys/block/mmcblk0/device 2>/dev/null)
host=${mmc%%/mmc_host/*}
rng=$(cat /sys/class/misc/hw_random/rng_current 2>/dev/null)
echo "ONEPAD-REPORT-BEGIN"
echo "model: $(tr -d '\0' </proc/device-tree/model 2>/dev/null)"
echo "compatible: $(tr '\0' ' ' </proc/device-tree/compatible 2>/dev/null | sed 's/ $//')"
echo "kernel: $(uname -r) $(uname -m)"
echo "cpus: $(nproc) $(grep -m1 '^CPU part' /proc/cpuinfo)"
echo "root: $(findmnt -no SOURCE,FSTYPE /)"
echo "boot: $(findmnt -no SOURCE,FSTYPE,OPTIONS /boot/firmware)"
echo "boot-label: $(readlink -f /dev/disk/by-label/ONEPAD-BOOT 2>/dev/null) $(systemctl is-active boot-firmware.mount)"
echo "mmc-host: $(basename "$host") $(basename "$(readlink "$host/driver" 2>/dev/null)")"
# The radios-off overlay: the Wi-Fi's SDIO host (sdhci, 3f300000) is disabled in the shipped tree.
echo "sdhci-status: $(tr -d '\0' </proc/device-tree/soc/mmc@7e300000/status 2>/dev/null)"
echo "hwrng: $rng $(basename "$(readlink "/sys/bus/platform/devices/$rng/driver" 2>/dev/null)")"
echo "hwrng-node: $(stat -c '%F %A %U:%G' /dev/hwrng 2>/dev/null)"
echo "hwrng-read: $(head -c 4096 /dev/hwrng 2>/dev/null | wc -c)"
echo "eth0: $(ip -4 -o addr show dev eth0 2>/dev/null | awk '{print $4}') $(basename "$(readlink /sys/class/net/eth0/device/driver 2>/dev/null)")"
echo "active: $(systemctl is-active onepad.service nftables.service systemd-networkd.service | tr '\n' ' ' | sed 's/ $//')"
echo "execstart: $(systemctl show -P ExecStart onepad.service)"
echo "user: $(stat -c %U "/proc/$pid" 2>/dev/null)"
echo "restarts: $(systemctl show -P NRestarts onepad.service)"
echo "watchdog: $(systemctl show -P WatchdogTimestampMonotonic onepad.service)"
echo "hrng-status: $(tr -d '\n' </var/lib/onepad/hrng-status.json 2>/dev/null)"
ss -Hltnuwp | sed 's/^/listen: /'
echo "failed: $(systemctl --failed --no-legend --plain | awk '{print $1}' | tr '\n' ' ')"
echo "cmdline: $(cat /proc/cmdline)"
journalctl -b -u onepad.service --no-pager -n 15 -o cat | sed 's/^/journal: /'
echo "ONEPAD-REPORT-END"
