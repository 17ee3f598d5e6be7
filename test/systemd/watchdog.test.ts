/**
 * systemd/watchdog.mjs, the `node --import` preload that pings systemd's watchdog from the event loop. A fake
 * `systemd-notify` on PATH records each ping with its time, so the test sees the period, the socket passed on,
 * the variables hidden from the app, and the silence while the event loop is blocked.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const PRELOAD = fileURLToPath(new URL('../../systemd/watchdog.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'onepad-watchdog-'));
const log = join(dir, 'pings.log');
writeFileSync(join(dir, 'systemd-notify'), `#!/bin/sh\necho "$(date +%s%N) $NOTIFY_SOCKET $*" >> "${log}"\n`);
chmodSync(join(dir, 'systemd-notify'), 0o755);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Run `script` under the preload with `env`; return what it printed and the pings as [ms, socket, args]. */
function run(script: string, env: Record<string, string>) {
  rmSync(log, { force: true });
  const r = spawnSync(process.execPath, ['--import', PRELOAD, '-e', script], {
    env: { PATH: `${dir}:${process.env.PATH}`, ...env },
    encoding: 'utf8',
    timeout: 20_000,
  });
  expect(r.status, r.stderr).toBe(0);
  // The last ping's child may still be writing when node exits.
  spawnSync('sleep', ['0.3']);
  const pings = existsSync(log)
    ? readFileSync(log, 'utf8')
        .trim()
        .split('\n')
        .map((l) => l.split(' '))
        .map(([ns, sock, ...args]) => ({ ms: Number(ns) / 1e6, sock, args: args.join(' ') }))
    : [];
  return { out: r.stdout.trim(), pings };
}

const SHOW_ENV =
  'setTimeout(() => console.log(JSON.stringify([process.env.NOTIFY_SOCKET ?? null, process.env.WATCHDOG_USEC ?? null])), 1000)';

describe('watchdog preload', () => {
  it('pings every WATCHDOG_USEC/2 with the socket, and hides the variables from the app', () => {
    const { out, pings } = run(SHOW_ENV, { NOTIFY_SOCKET: '/run/fake-notify', WATCHDOG_USEC: '400000' });
    expect(out).toBe('[null,null]');
    expect(pings.length).toBeGreaterThanOrEqual(3);
    expect(pings.length).toBeLessThanOrEqual(8);
    for (const p of pings) {
      expect(p.sock).toBe('/run/fake-notify');
      expect(p.args).toBe('WATCHDOG=1');
    }
  });

  it('does nothing without NOTIFY_SOCKET, or when WATCHDOG_PID names another process', () => {
    expect(run(SHOW_ENV, { WATCHDOG_USEC: '400000' }).pings).toEqual([]);
    const other = run(SHOW_ENV, { NOTIFY_SOCKET: '/run/fake-notify', WATCHDOG_USEC: '400000', WATCHDOG_PID: '1' });
    expect(other.pings).toEqual([]);
    expect(other.out).toBe('[null,null]');
  });

  it('stops pinging while the event loop is blocked', () => {
    // Atomics.wait blocks the main thread without spinning the CPU.
    const block =
      'setTimeout(() => { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1200); setTimeout(() => {}, 400); }, 300)';
    const { pings } = run(block, { NOTIFY_SOCKET: '/run/fake-notify', WATCHDOG_USEC: '200000' });
    const gaps = pings.slice(1).map((p, i) => p.ms - (pings[i] as { ms: number }).ms);
    expect(Math.max(...gaps)).toBeGreaterThan(1000);
    expect(pings.length).toBeGreaterThanOrEqual(3);
  });
});
