/**
 * SIGTERM to a real `onepad hrng fill` process mid-fill: it stops cleanly (exit 0, its last progress line and
 * "stopped: appended N bytes"), the ledger counts exactly the bytes in the pool file and nothing was written past
 * them, and a second fill goes on from there.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { startOnepad } from '../helpers/child.js';

const MIB = 1 << 20;
const dir = mkdtempSync(join(tmpdir(), 'onepad-fill-term-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const startCli = (args: string[]) => startOnepad(args);

async function until(f: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

function counters(dataDir: string): { capacity: number; filled: number; consumed: number; latch: string | null } {
  const db = new Database(join(dataDir, 'ledger.db'), { readonly: true });
  try {
    return db.prepare('SELECT capacity, filled, consumed, latch FROM pool').get() as {
      capacity: number;
      filled: number;
      consumed: number;
      latch: string | null;
    };
  } finally {
    db.close();
  }
}

describe('SIGTERM to a real `onepad hrng fill`', () => {
  it('stops cleanly mid-fill: exit 0, what it appended said and counted, nothing past it; a second fill goes on', async () => {
    const dataDir = join(dir, 'd');
    const config = join(dir, 'config.json');
    writeFileSync(
      config,
      JSON.stringify({
        dataDir,
        device: { name: 'filler', simulated: true },
        hrng: { sources: [{ kind: 'simulated' }], poolMaxBytes: 256 * MIB },
      }),
    );
    const run = startCli(['hrng', 'fill', '--config', config]);
    // Two progress lines (one a second when not on a terminal): bytes are going into the pool.
    await until(() => (run.out().match(/^\[[#-]+\] .* full in /gm) ?? []).length >= 2);
    run.child.kill('SIGTERM');
    expect(await run.done, run.err()).toBe(0);
    const m = /\nstopped: appended (\d+) bytes; pool holds (\d+) bytes\n$/.exec(run.out());
    expect(m, run.out()).not.toBeNull();
    const appended = Number(m?.[1]);
    expect(appended).toBeGreaterThan(0);
    expect(Number(m?.[2])).toBe(appended);
    expect(appended).toBeLessThan(256 * MIB);
    expect(run.err()).toBe('');
    // The ledger counts exactly what the message says; the pool file holds those bytes and nothing after them.
    const c = counters(dataDir);
    expect(c).toMatchObject({ capacity: 256 * MIB, filled: appended, consumed: 0, latch: null });
    const file = readFileSync(join(dataDir, 'pool.bin'));
    expect(file.length).toBe(256 * MIB);
    expect(file.subarray(appended - 4096, appended).some((x) => x !== 0)).toBe(true);
    expect(file.subarray(appended).every((x) => x === 0)).toBe(true);

    // A second fill starts from there and adds exactly what it was asked for.
    const again = startCli(['hrng', 'fill', '--config', config, '--bytes', '1M']);
    expect(await again.done, again.err()).toBe(0);
    expect(again.out()).toMatch(new RegExp(`\\nfull: appended ${MIB} bytes; pool holds ${appended + MIB} bytes\\n$`));
    expect(counters(dataDir).filled).toBe(appended + MIB);
  }, 180_000);
});
