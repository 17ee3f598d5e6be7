/**
 * `onepad simulate --pair-by-hand` as a process: the page is up before pairing (which waits on it), the devices
 * pair by hand through the page's own touch API (compare, hold Match, name the other, Save), and SIGTERM or
 * Ctrl-C (SIGINT) stops it cleanly with exit 0, also while pairing still waits for the owners.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const children: ChildProcess[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function simulate(): { child: ChildProcess; out: () => string; exit: Promise<number | null> } {
  const dir = mkdtempSync(join(tmpdir(), 'onepad-simcli-'));
  dirs.push(dir);
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'device/service/main.ts', 'simulate', '--pair-by-hand', '--fresh', '--dir', dir],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(child);
  let out = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, out: () => out, exit };
}

async function until<T>(what: string, f: () => Promise<T | undefined> | T | undefined, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

type Layout = { screen: string; buttons: { id: string; box: { x: number; y: number; w: number; h: number } }[] };

const layout = async (url: string, d: string): Promise<Layout | undefined> => {
  const r = await fetch(`${url}api/${d}/layout`);
  return r.ok ? (((await r.json()) as Layout | null) ?? undefined) : undefined;
};

async function touch(url: string, d: string, phase: string, x: number, y: number) {
  const r = await fetch(`${url}api/${d}/input`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ phase, x, y }),
  });
  expect(r.status).toBe(204);
}

/** Tap a button, or (hold) keep it pressed until the device leaves the screen, as a person holds until the bar fills. */
async function press(url: string, d: string, id: string, hold: boolean) {
  const l = await layout(url, d);
  const b = l?.buttons.find((x) => x.id === id);
  if (!b) throw new Error(`no ${id} on ${d}`);
  const x = Math.round(b.box.x + b.box.w / 2);
  const y = Math.round(b.box.y + b.box.h / 2);
  await touch(url, d, 'down', x, y);
  try {
    if (hold)
      await until(
        `${d} to leave ${l?.screen}`,
        async () => ((await layout(url, d))?.screen !== l?.screen ? true : undefined),
        20_000,
      );
  } finally {
    await touch(url, d, 'up', x, y);
  }
}

describe('onepad simulate --pair-by-hand', () => {
  it('serves the page before pairing, pairs by hand on it, and stops on SIGTERM with exit 0', async () => {
    const sim = simulate();
    const url = await until('the page URL', () => /page[^\n]*(http:\/\/127\.0\.0\.1:\d+\/)/.exec(sim.out())?.[1]);
    for (const d of ['alice', 'bob']) {
      await until(`${d} compare`, async () =>
        (await layout(url, d))?.screen === 'pairing-compare' ? true : undefined,
      );
    }
    for (const d of ['alice', 'bob']) await press(url, d, 'match', true);
    for (const d of ['alice', 'bob']) {
      await until(`${d} keyboard`, async () => ((await layout(url, d))?.screen === 'keyboard' ? true : undefined));
      await press(url, d, 'submit', false);
    }
    await until('paired', () => (sim.out().includes('paired alice and bob') ? true : undefined));
    sim.child.kill('SIGTERM');
    expect(await sim.exit).toBe(0);
  }, 120_000);

  it('Ctrl-C while pairing waits for the owners stops it with exit 0', async () => {
    const sim = simulate();
    const url = await until('the page URL', () => /page[^\n]*(http:\/\/127\.0\.0\.1:\d+\/)/.exec(sim.out())?.[1]);
    await until('alice compare', async () =>
      (await layout(url, 'alice'))?.screen === 'pairing-compare' ? true : undefined,
    );
    sim.child.kill('SIGINT');
    const code = await Promise.race([sim.exit, new Promise((r) => setTimeout(() => r('hung'), 20_000))]);
    expect(code).toBe(0);
  }, 120_000);
});
