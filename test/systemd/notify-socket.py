#!/usr/bin/env python3
"""A real sd_notify socket for the notification tests: an AF_UNIX datagram socket bound at argv[1].

Prints one JSON line per datagram received: {"ms": <monotonic ms>, "fields": {...}}. File descriptors passed
with a datagram (systemd-notify's BARRIER=1 sends the write end of a pipe and waits for it to close) are closed at
once, as systemd does once it has processed everything before the barrier. Exits after argv[2] seconds.
"""
import array
import json
import os
import socket
import sys
import time

path = sys.argv[1]
deadline = time.monotonic() + float(sys.argv[2] if len(sys.argv) > 2 else 60)
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.settimeout(0.2)
print(json.dumps({"ms": time.monotonic() * 1000, "fields": {"LISTENING": "1"}}), flush=True)
while time.monotonic() < deadline:
    try:
        data, anc, _flags, _addr = s.recvmsg(4096, socket.CMSG_SPACE(16 * 4))
    except socket.timeout:
        continue
    for level, kind, payload in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds = array.array("i")
            fds.frombytes(payload[: len(payload) - (len(payload) % fds.itemsize)])
            for fd in fds:
                os.close(fd)
    fields = {}
    for line in data.decode("utf-8", "replace").split("\n"):
        if "=" in line:
            k, v = line.split("=", 1)
            fields[k] = v
    print(json.dumps({"ms": time.monotonic() * 1000, "fields": fields}), flush=True)
