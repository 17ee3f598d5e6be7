#!/bin/sh
# Boot test only (written into the test's copy of the root fs): once onepad listens on the link and the pairing
# driven on the screen has ended (its request says "close"), or after 20 minutes, print what the host checks
# between two markers on the serial console.
i=0
while [ "$i" -lt 1200 ]; do
	ss -Hltn | grep -q '10\.254\.0\.1:4747 ' && [ "$(cat /run/onepad/pairing-request 2>/dev/null)" = close ] && break
	sleep 1
	i=$((i + 1))
done
# Let anything else that would start with the system settle too, and the service outlive one watchdog
# period: it is killed then unless its pings arrive.
sleep 35
pid=$(systemctl show -P MainPID onepad.service)
echo "ONEPAD-REPORT-BEGIN"
echo "active: $(systemctl is-active onepad.service nftables.service systemd-networkd.service | tr '\n' ' ' | sed 's/ $//')"
echo "user: $(stat -c %U "/proc/$pid" 2>/dev/null)"
echo "restarts: $(systemctl show -P NRestarts onepad.service)"
echo "statedir: $(stat -c '%a %U' /var/lib/onepad)"
ss -Hltnuwp | sed 's/^/listen: /'
ip -4 -o addr show dev eth0 | sed 's/^/addr: /'
awk -F: '$2 !~ /^[!*]/ { print "password: " $1 }' /etc/shadow
echo "security: $(systemd-analyze security --no-pager onepad.service | tail -1)"
echo "watchdog: $(systemctl show -P WatchdogTimestampMonotonic onepad.service)"
# Pairing mode as the pairing asked for it: opened and closed by onepad-pairing.service (its own transient user),
# and closed now.
echo "pairing-set: $(nft list set inet onepad pairing | grep -c '"eth0"')"
journalctl -b -u onepad-pairing.service --no-pager -o cat | grep '^pairing mode:' | sed 's/^/pairing-mode: /'
journalctl -b -u onepad-pairing.service --no-pager -o json | grep '"MESSAGE":"pairing mode: ' |
	grep -o '"_UID":"[0-9]*"' | sort -u | sed 's/^/pairing-user: /'
echo "security-pairing: $(systemd-analyze security --no-pager onepad-pairing.service | tail -1)"
echo "failed: $(systemctl --failed --no-legend --plain | awk '{print $1}' | tr '\n' ' ')"
journalctl -b -u onepad.service --no-pager -n 15 -o cat | sed 's/^/journal: /'
echo "ONEPAD-REPORT-END"
