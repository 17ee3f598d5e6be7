#!/bin/sh
# Boot test only (written into the shipped boot test's copy of the root fs): once onepad listens on the link and
# the pool holds bytes (hrng-status.json), or 4 minutes after listening, print what the host checks between two
# markers on the serial console.
# Guest time, not loop turns: under TCG one turn of this loop takes seconds.
until ss -Hltn | grep -q '10\.254\.0\.1:4747 '; do sleep 2; done
start=$(date +%s)
last=0
while [ $(($(date +%s) - start)) -lt 240 ]; do
	grep -q '"poolBytes":[1-9]' /var/lib/onepad/hrng-status.json 2>/dev/null && break
	# Every minute a line of progress, for the host's log.
	if [ $(($(date +%s) - last)) -ge 60 ]; then
		last=$(date +%s)
		echo "ONEPAD-PROGRESS $((last - start)) s after listening: restarts $(systemctl show -P NRestarts onepad.service): $(journalctl -b -u onepad.service --no-pager -n 1 -o cat | cut -c1-200)"
	fi
	sleep 2
done
# The service outlives one watchdog period (30 s, the shipped one): it is killed then unless its pings arrive.
sleep 35
pid=$(systemctl show -P MainPID onepad.service)
fb=/sys/class/graphics/fb0
echo "ONEPAD-REPORT-BEGIN"
echo "active: $(systemctl is-active onepad.service nftables.service systemd-networkd.service | tr '\n' ' ' | sed 's/ $//')"
echo "execstart: $(systemctl show -P ExecStart onepad.service)"
echo "user: $(stat -c %U "/proc/$pid" 2>/dev/null)"
echo "restarts: $(systemctl show -P NRestarts onepad.service)"
echo "watchdog: $(systemctl show -P WatchdogTimestampMonotonic onepad.service)"
echo "fb: $(cat $fb/name 2>/dev/null) $(cat $fb/virtual_size 2>/dev/null) $(cat $fb/bits_per_pixel 2>/dev/null)"
touch=$(sed -n 's|.*"device": "\(/dev/input/[^"]*\)".*|\1|p' /etc/onepad/config.json)
echo "touch: $(readlink -f "$touch" 2>/dev/null)"
ls /dev/input/by-path/ 2>/dev/null | sed 's/^/input: /'
echo "ttyusb: $(ls /dev/ttyUSB* 2>/dev/null | tr '\n' ' ' | sed 's/ $//')"
echo "ttyusb-mode: $(stat -c '%A %U:%G' /dev/ttyUSB0 2>/dev/null)"
udevadm info -q property -n /dev/ttyUSB0 2>&1 | grep -E '^(ID_(USB_)?(VENDOR|MODEL)_ID|DEVLINKS)=' | sed 's/^/ttyusb-udev: /'
udevadm info -e 2>/dev/null | grep -c 'ttyUSB' | sed 's/^/ttyusb-in-udev-db: /'
echo "service-groups: $(grep '^Groups:' "/proc/$pid/status" 2>/dev/null)"
# Why the service cannot open the TrueRNG's port (open issue): the port as the service's own mount namespace sees it.
# (systemd-run, to try the unit's sandbox settings one at a time, does not work here: the image has no D-Bus.)
echo "ttyusb-in-service-ns: $(nsenter -t "$pid" -m ls -l /dev/ttyUSB0 2>&1)"
echo "proc-devices: $(grep -E 'ttyUSB|ttyS' /proc/devices | tr '\n' ' ')"
echo "hwrng: $(cat /sys/class/misc/hw_random/rng_current 2>/dev/null)"
echo "hwrng-mode: $(stat -c '%A %U:%G' /dev/hwrng 2>/dev/null)"
echo "modules: $(lsmod | awk 'NR>1 && ($1=="usbserial" || $1=="cdc_acm" || $1=="rng_core" || $1=="ftdi_sio") {print $1}' | sort | tr '\n' ' ')"
journalctl -b --no-pager -o cat | grep -iE 'onepad.service.*(device|DeviceAllow)' | head -5 | sed 's/^/device-policy: /'
echo "cursor: $(cat /sys/module/vt/parameters/global_cursor_default 2>/dev/null)"
for v in /sys/class/vtconsole/vtcon*; do echo "vtcon: $(cat "$v/name") bind=$(cat "$v/bind")"; done
echo "hrng-status: $(tr -d '\n' </var/lib/onepad/hrng-status.json 2>/dev/null)"
ss -Hltnuwp | sed 's/^/listen: /'
awk -F: '$2 !~ /^[!*]/ { print "password: " $1 }' /etc/shadow
echo "security: $(systemd-analyze security --no-pager onepad.service | tail -1)"
echo "failed: $(systemctl --failed --no-legend --plain | awk '{print $1}' | tr '\n' ' ')"
echo "cmdline: $(cat /proc/cmdline)"
journalctl -b -u onepad.service --no-pager -n 25 -o cat | sed 's/^/journal: /'
echo "ONEPAD-REPORT-END"
# From here to power-off, for the host's screendumps: what else could draw on /dev/fb0 does, once a second. A kernel
# message at loglevel 2 (under the cmdline's loglevel=3, so printed on the console, tty1) and text written to tty1 as
# a getty or a stray process would. With the kernel's console on the framebuffer, both land on the trusted screen;
# the host's pixel-for-pixel checks of the confirm screen then fail. (/dev/kmsg allows 10 lines per 5 s.)
while :; do
	echo "<2>onepad boot test: a kernel message at loglevel 2, drawn over the screen if the console is on fb0" >/dev/kmsg
	printf 'onepad boot test: text written to tty1 over the screen\n' >/dev/tty1
	sleep 1
done
