/**
 * Start-up progress and readiness for systemd (`Type=notify`), through the sender the service's preload installs
 * (systemd/watchdog.mjs); without it (tests, a shell, the simulator) every call here does nothing.
 *
 * Under systemd the start-up is bounded by `TimeoutStartSec=` and the watchdog (`WatchdogSec=`) is armed once
 * READY=1 arrives. A start-up step that blocks the event loop (loading the code, fonts, the first render, opening
 * and migrating the ledger, sizing the pool file) cannot rely on timers, so the start-up path calls
 * {@link startupStep} between such steps: before READY it extends the start timeout by {@link STEP_BUDGET_USEC}
 * from now (EXTEND_TIMEOUT_USEC) and pings the watchdog; after READY it pings the watchdog. Each step must finish
 * within that budget: a start-up that hangs is still killed, however slow the machine.
 */

const KEY = Symbol.for('onepad.sd-notify');

/** How long each start-up step may take, in microseconds: 90 s (a Pi 3 under load, or emulation, is slow). */
export const STEP_BUDGET_USEC = 90_000_000;

type Send = (fields: readonly string[]) => void;

function sender(): Send | null {
  const f = (globalThis as Record<symbol, unknown>)[KEY];
  return typeof f === 'function' ? (f as Send) : null;
}

let readySent = false;

/** Only short fixed words: a step's name is code, never data. */
function status(text: string): string {
  return `STATUS=${text.replace(/[^A-Za-z0-9 ,.:-]/g, '').slice(0, 80)}`;
}

/** A start-up step begins: see the module comment. `step` is a fixed name, e.g. "opening the ledger". */
export function startupStep(step: string): void {
  const send = sender();
  if (!send) return;
  if (readySent) send(['WATCHDOG=1']);
  else send([`EXTEND_TIMEOUT_USEC=${STEP_BUDGET_USEC}`, 'WATCHDOG=1', status(`starting: ${step}`)]);
}

/**
 * The service is up: its event loop runs, so the watchdog preload's timer takes over. Sent once; later calls do
 * nothing. `what` goes into STATUS=, e.g. "serving the link".
 */
export function notifyReady(what: string): void {
  const send = sender();
  if (!send || readySent) return;
  readySent = true;
  send(['READY=1', status(what)]);
}

/** The service is stopping (sent on the way out, so systemd does not take the exit for a crash mid-start). */
export function notifyStopping(): void {
  sender()?.(['STOPPING=1']);
}
