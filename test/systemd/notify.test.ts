/**
 * Start-up notifications to systemd (`Type=notify`): device/sd-notify.ts through the service's preload
 * (systemd/watchdog.mjs), the real `systemd-notify`, and a real AF_UNIX datagram notify socket (notify-socket.py,
 * which also answers systemd-notify's barrier as systemd does).
 *
 * The attack on a watchdog is a slow machine: a start-up step that blocks the event loop longer than the watchdog
 * period gets the service killed before it ever serves (as under emulation). The test blocks the event loop for
 * several watchdog periods at a time, and checks that each start-up step's EXTEND_TIMEOUT_USEC (and WATCHDOG=1)
 * reached the socket *while the loop was still blocked*, that timer pings stop meanwhile (so a stuck loop is still
 * caught), and that after READY=1 no more extensions are sent. Then the real `onepad device` start-up: every step
 * up to READY=1 announced, READY once, pings after it, STOPPING=1 on SIGTERM.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { STEP_BUDGET_USEC } from '../../device/sd-notify.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PRELOAD = join(ROOT, 'systemd/watchdog.mjs');
const SOCKET_HELPER = fileURLToPath(new URL('./notify-socket.py', import.meta.url));
const SD_NOTIFY = join(ROOT, 'device/sd-notify.ts');

interface Note {
  readonly ms: number;
  readonly fields: Record<string, string>;
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** A real notify socket; `notes` fills as datagrams arrive (monotonic ms, the same clock as hrtime). */
async function notifySocket(): Promise<{ path: string; notes: Note[]; stop: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), 'onepad-notify-'));
  const path = join(dir, 'notify');
  const child = spawn('python3', [SOCKET_HELPER, path, '90'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const notes: Note[] = [];
  let buf = '';
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      let nl = buf.indexOf('\n');
      while (nl >= 0) {
        const n = JSON.parse(buf.slice(0, nl)) as Note;
        buf = buf.slice(nl + 1);
        if (n.fields.LISTENING) resolve();
        else notes.push(n);
        nl = buf.indexOf('\n');
      }
    });
  });
  const stop = () => {
    child.kill();
    rmSync(dir, { recursive: true, force: true });
  };
  cleanups.push(stop);
  return { path, notes, stop };
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.on('close', (code) => resolve(code)));
}

async function settle(notes: Note[], count: number, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (notes.length < count && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
}

describe('start-up notifications through a real notify socket', () => {
  it('each step extends the start timeout from inside a blocked event loop; after READY only pings', async () => {
    const sock = await notifySocket();
    // Three steps, each blocking the loop for 1.2 s (six watchdog periods of 0.2 s), then READY and a free loop.
    const script = `
      const { startupStep, notifyReady } = await import(${JSON.stringify(SD_NOTIFY)});
      const now = () => Number(process.hrtime.bigint() / 1000n) / 1000;
      const block = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
      const marks = {};
      for (const step of ['loading fonts', 'opening the ledger', 'sizing the pool']) {
        startupStep(step);
        block(1200);
        marks[step] = now();
      }
      notifyReady('serving the link');
      startupStep('after ready');
      setTimeout(() => { console.log(JSON.stringify(marks)); }, 1200);
    `;
    const child = spawn(
      process.execPath,
      ['--import', PRELOAD, '--import', 'tsx', '--input-type=module', '-e', script],
      {
        cwd: ROOT,
        env: { ...process.env, NOTIFY_SOCKET: sock.path, WATCHDOG_USEC: '400000' },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    expect(await exited(child)).toBe(0);
    await new Promise((r) => setTimeout(r, 500));
    const marks = JSON.parse(out) as Record<string, number>;
    const notes = sock.notes;
    const extend = notes.filter((n) => n.fields.EXTEND_TIMEOUT_USEC);
    expect(extend.map((n) => n.fields.STATUS)).toEqual([
      'starting: loading fonts',
      'starting: opening the ledger',
      'starting: sizing the pool',
    ]);
    for (const n of extend) {
      expect(n.fields.EXTEND_TIMEOUT_USEC).toBe(String(STEP_BUDGET_USEC));
      expect(n.fields.WATCHDOG).toBe('1');
    }
    // Each step's notification arrived while that step was still blocking the loop (before its end mark).
    const steps = ['loading fonts', 'opening the ledger', 'sizing the pool'];
    extend.forEach((n, i) => {
      expect(n.ms).toBeLessThan(marks[steps[i] as string] as number);
    });
    // Timer pings stop while the loop is blocked: none between the first step's start and the last one's end,
    // other than the steps' own.
    const first = (extend[0] as Note).ms;
    const last = marks['sizing the pool'] as number;
    const timerPings = notes.filter((n) => n.fields.WATCHDOG && !n.fields.EXTEND_TIMEOUT_USEC && !n.fields.READY);
    expect(timerPings.filter((n) => n.ms > first + 100 && n.ms < last - 100)).toEqual([]);
    // READY once, then pings (from the timer and the step after READY) and no extension.
    const ready = notes.filter((n) => n.fields.READY === '1');
    expect(ready).toHaveLength(1);
    expect(ready[0]?.fields.STATUS).toBe('serving the link');
    const afterReady = notes.filter((n) => n.ms > (ready[0] as Note).ms);
    expect(afterReady.filter((n) => n.fields.EXTEND_TIMEOUT_USEC)).toEqual([]);
    expect(afterReady.filter((n) => n.fields.WATCHDOG === '1').length).toBeGreaterThanOrEqual(3);
  }, 30_000);

  it('without the preload (a shell, tests) the calls do nothing and nothing is sent', async () => {
    const sock = await notifySocket();
    const script = `
      const { startupStep, notifyReady } = await import(${JSON.stringify(SD_NOTIFY)});
      startupStep('x'); notifyReady('y');
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: ROOT,
      env: { ...process.env, NOTIFY_SOCKET: sock.path },
      stdio: 'inherit',
    });
    expect(await exited(child)).toBe(0);
    await new Promise((r) => setTimeout(r, 500));
    expect(sock.notes).toEqual([]);
  }, 30_000);

  it('onepad device: every start-up step announced, READY once the link serves, pings, STOPPING on SIGTERM', async () => {
    const sock = await notifySocket();
    const root = mkdtempSync(join(tmpdir(), 'onepad-notify-dev-'));
    cleanups.push(() => rmSync(root, { recursive: true, force: true }));
    const port = await new Promise<number>((resolve) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const config = join(root, 'config.json');
    writeFileSync(
      config,
      JSON.stringify({
        dataDir: join(root, 'data'),
        device: { name: 'pad-notify', ownerWord: 'owl', simulated: true },
        link: { address: '127.0.0.1', peer: '127.0.0.1', port, logLevel: 'warn' },
        display: { sink: 'sim', input: 'sim' },
        hrng: { sources: [{ kind: 'simulated', bytesPerSecond: 16384 }], poolMaxBytes: 1048576 },
      }),
    );
    const child = spawn(
      process.execPath,
      ['--import', PRELOAD, '--import', 'tsx', 'device/service/main.ts', 'device', '--config', config, '--sim'],
      {
        cwd: ROOT,
        env: { ...process.env, NOTIFY_SOCKET: sock.path, WATCHDOG_USEC: '1000000' },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const exit = exited(child);
    const end = Date.now() + 60_000;
    while (!sock.notes.some((n) => n.fields.READY === '1')) {
      if (Date.now() > end || child.exitCode !== null) throw new Error(`no READY: ${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    // READY means the link answers.
    const res = await fetch(`http://127.0.0.1:${port}/`);
    expect(res.status).toBeLessThan(500);
    await new Promise((r) => setTimeout(r, 1600));
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
    await settle(sock.notes, sock.notes.length + 1, 1000);
    const steps = sock.notes.filter((n) => n.fields.EXTEND_TIMEOUT_USEC).map((n) => n.fields.STATUS);
    // Each step is its own systemd-notify child, so two close together may arrive in either order.
    expect([...steps].sort()).toEqual(
      [
        'starting: code loaded',
        'starting: opening the screen',
        'starting: checking the entropy kernels',
        'starting: opening the ledger',
        'starting: starting the link server',
        'starting: starting the filler',
        'starting: opening the pool',
      ].sort(),
    );
    expect(sock.notes.filter((n) => n.fields.READY === '1').map((n) => n.fields.STATUS)).toEqual(['serving the link']);
    const readyAt = (sock.notes.find((n) => n.fields.READY) as Note).ms;
    expect(sock.notes.filter((n) => n.ms > readyAt && n.fields.WATCHDOG === '1').length).toBeGreaterThanOrEqual(2);
    expect(sock.notes.filter((n) => n.fields.STOPPING === '1')).toHaveLength(1);
  }, 90_000);
});
