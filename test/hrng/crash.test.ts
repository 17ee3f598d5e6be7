/**
 * Restart in the middle of filling: a child process fills the pool and is killed with SIGKILL at a random
 * moment; the reopened pool's counters and file must agree and hold each source byte at most once.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { dataDirLayout, prepareDataDir } from '../../device/data-dir.js';
import { openLedgerDb } from '../../device/ledger/open.js';
import { EntropyPool } from '../../hrng/pool.js';
import { seedRawBytes } from '../../hrng/seed.js';
import { SimStream } from '../../hrng/sim-source.js';
import { extractorShape } from '../../hrng/toeplitz.js';
import { extractFrom } from './pipeline-model.js';

const CHILD = fileURLToPath(new URL('./fill-child.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const POOL_MAX = 4 << 20;
const CHUNK = 8192;
const root = mkdtempSync(join(tmpdir(), 'onepad-crash-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function startChild(seed: string): { child: ChildProcess; progressed: Promise<number>; exited: Promise<void> } {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, root, seed, String(POOL_MAX), String(CHUNK)], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  const progressed = new Promise<number>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /progress (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', () => reject(new Error(`child exited before progress: ${out.slice(0, 200)}`)));
  });
  progressed.catch(() => {});
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { child, progressed, exited };
}

async function fillAndKill(seed: string, delayMs: number): Promise<void> {
  const c = startChild(seed);
  const timer = setTimeout(() => c.child.kill('SIGKILL'), 30_000);
  await c.progressed;
  await new Promise((r) => setTimeout(r, delayMs));
  c.child.kill('SIGKILL');
  await c.exited;
  clearTimeout(timer);
}

function openPool() {
  const layout = prepareDataDir(root);
  const db = openLedgerDb(layout.ledger);
  const pool = EntropyPool.open({ db, path: layout.pool, maxBytes: POOL_MAX });
  return {
    db,
    pool,
    close: () => {
      pool.close();
      db.close();
    },
  };
}

describe('restart in the middle of filling', () => {
  it('after SIGKILL the counters and file agree, and no source byte is in the pool twice', async () => {
    const streams: Uint8Array[] = [];
    // The model: the pool holds, in order, the first `n_i` extractor output bytes of each run's stream (after the
    // bytes the seed was made from, in the first run; later runs load the kept seed), minus what was taken.
    let expected = new Uint8Array(0);
    let filledBefore = 0;
    for (let run = 0; run < 3; run++) {
      const seed = `crash-${run}`;
      await fillAndKill(seed, 20 + run * 37);
      const { pool, close } = openPool();
      const c = pool.counters();
      expect(c.filled).toBeGreaterThan(filledBefore); // the child got some chunks in
      expect(c.filled % CHUNK === 0 || c.filled === c.consumed + POOL_MAX).toBe(true); // whole synced chunks
      const added = c.filled - filledBefore;
      const offset = run === 0 ? seedRawBytes(8) : 0;
      const raw = new SimStream(seed).next(offset + Math.ceil(added / 112) * extractorShape(8).inBytes);
      streams.push(extractFrom(root, raw, 8, offset, added));
      expected = Buffer.concat([expected, streams[run] as Uint8Array]);
      // File agrees with the counters: the live range is exactly the model.
      const file = readFileSync(dataDirLayout(root).pool);
      const live = new Uint8Array(pool.available());
      for (let i = 0; i < live.length; i++) live[i] = file[(c.consumed + i) % c.capacity] as number;
      expect(Buffer.from(live)).toEqual(Buffer.from(expected));
      // Take a part, as pairing would; taken bytes leave the model and are burned.
      const take = Math.min(pool.available(), 5000 + run * 1000);
      const drawn = pool.take(take);
      expect(Buffer.from(drawn.bytes)).toEqual(Buffer.from(expected.subarray(0, take)));
      expected = expected.subarray(take);
      filledBefore = c.filled;
      close();
    }
    // No 32-byte window of the remaining pool repeats (each run used its own seed, nothing was counted twice).
    const seen = new Set<string>();
    for (let i = 0; i + 32 <= expected.length; i += 32) {
      const k = Buffer.from(expected.subarray(i, i + 32)).toString('hex');
      expect(seen.has(k)).toBe(false);
      seen.add(k);
    }
  });
});
