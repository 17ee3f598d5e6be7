#!/usr/bin/env python3
"""A pseudo-terminal pair for the serial HRNG tests.

Opens a pty, puts the slave in raw mode, prints the slave's path on the first line of stdout, then relays:
stdin -> master (bytes the "device" sends to onepad) and master -> stdout (what onepad writes to the
"device", e.g. OneRNG commands). When stdin reaches end of file the master is closed, which is what a USB
HRNG being unplugged looks like to the reader (EIO), and the helper exits. It exits by itself after
--timeout seconds so a broken test cannot leave it behind.
"""
import os
import pty
import select
import sys
import time
import tty

timeout = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
master, slave = pty.openpty()
tty.setraw(slave)
tty.setraw(master)
out = sys.stdout.buffer
out.write((os.ttyname(slave) + "\n").encode())
out.flush()

stdin = sys.stdin.buffer.raw.fileno()
os.set_blocking(master, False)
pending = b""
deadline = time.monotonic() + timeout
stdin_open = True
while time.monotonic() < deadline:
    rlist = [master]
    if stdin_open and len(pending) < (1 << 20):
        rlist.append(stdin)
    wlist = [master] if pending else []
    r, w, _ = select.select(rlist, wlist, [], 0.2)
    if stdin in r:
        data = os.read(stdin, 65536)
        if not data:
            stdin_open = False
        pending += data
    if master in w and pending:
        try:
            n = os.write(master, pending)
            pending = pending[n:]
        except BlockingIOError:
            pass
    if master in r:
        try:
            data = os.read(master, 65536)
        except OSError:
            data = b""
        if data:
            out.write(data)
            out.flush()
    if not stdin_open and not pending:
        break
os.close(master)
time.sleep(0.2)
os.close(slave)
