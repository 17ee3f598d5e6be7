/**
 * systemd notification for the onepad service, loaded with `node --import` before the CLI.
 *
 * systemd starts the service (`Type=notify`, `WatchdogSec=`, `NotifyAccess=all`) with NOTIFY_SOCKET and
 * WATCHDOG_USEC set. Node cannot send AF_UNIX datagrams itself, so each notification runs `systemd-notify` with
 * the fields as arguments. Two senders:
 * - a timer on the event loop sends WATCHDOG=1 every WATCHDOG_USEC/2: a stuck event loop stops the pings and
 *   systemd restarts the service;
 * - `globalThis[Symbol.for('onepad.sd-notify')](fields)` for the app (device/sd-notify.ts): start-up progress
 *   (EXTEND_TIMEOUT_USEC, WATCHDOG=1) from inside long synchronous steps, and READY=1. spawn() forks the child
 *   synchronously, so a notification goes out even while the event loop is blocked.
 * The variables are removed from process.env so that no other child of the service can notify. Without them
 * (tests, a shell), this module does nothing and the app's notifications are no-ops.
 */
import { spawn } from 'node:child_process';

const socket = process.env.NOTIFY_SOCKET;
const usec = Number(process.env.WATCHDOG_USEC);
const forPid = process.env.WATCHDOG_PID === undefined ? process.pid : Number(process.env.WATCHDOG_PID);
delete process.env.NOTIFY_SOCKET;
delete process.env.WATCHDOG_USEC;
delete process.env.WATCHDOG_PID;

if (socket && forPid === process.pid) {
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', NOTIFY_SOCKET: socket };
  /** Send `fields` ("NAME=value" each) in one notification. A failed send is the same as a missed one. */
  const send = (fields) => {
    const child = spawn('systemd-notify', fields, { env, stdio: 'ignore' });
    child.on('error', () => {});
    child.unref();
  };
  Object.defineProperty(globalThis, Symbol.for('onepad.sd-notify'), { value: send, enumerable: false });
  if (Number.isSafeInteger(usec) && usec > 0) {
    const periodMs = Math.max(100, Math.floor(usec / 2000));
    const ping = () => send(['WATCHDOG=1']);
    ping();
    setInterval(ping, periodMs).unref();
  }
}
