/**
 * systemd watchdog for the onepad service, loaded with `node --import` before the CLI.
 *
 * When systemd starts the service with `WatchdogSec=`, it sets NOTIFY_SOCKET and WATCHDOG_USEC. Node cannot
 * send AF_UNIX datagrams itself, so every WATCHDOG_USEC/2 a timer on the event loop runs `systemd-notify
 * WATCHDOG=1` (the unit has NotifyAccess=all). A stuck event loop stops the pings and systemd restarts the
 * service. The variables are removed from process.env so that no other child of the service can notify.
 * Without them (tests, a shell), this module does nothing.
 */
import { spawn } from 'node:child_process';

const socket = process.env.NOTIFY_SOCKET;
const usec = Number(process.env.WATCHDOG_USEC);
const forPid = process.env.WATCHDOG_PID === undefined ? process.pid : Number(process.env.WATCHDOG_PID);
delete process.env.NOTIFY_SOCKET;
delete process.env.WATCHDOG_USEC;
delete process.env.WATCHDOG_PID;

if (socket && Number.isSafeInteger(usec) && usec > 0 && forPid === process.pid) {
  const periodMs = Math.max(100, Math.floor(usec / 2000));
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', NOTIFY_SOCKET: socket };
  const ping = () => {
    const child = spawn('systemd-notify', ['WATCHDOG=1'], { env, stdio: 'ignore' });
    child.on('error', () => {
      // A failed ping is the same as a missed one: systemd decides.
    });
    child.unref();
  };
  ping();
  setInterval(ping, periodMs).unref();
}
