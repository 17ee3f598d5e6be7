/**
 * The per-chunk work of one pairing side, measured alone in this process, so the pairing figure can be read
 * against its parts: the chunk commitment (SHA-256 over the chunk, done twice per chunk per side: own and peer's),
 * the pool draw (read, two ledger commits, zero, fdatasync), frame encode + parse, and the byte-wise XOR loop the
 * protocol uses. Each part reports MB/s of wall time; CPU parts also report CPU s/MB, which other load on the
 * machine does not inflate.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { sha256 } from '@noble/hashes/sha2.js';
import { prepareDataDir } from '../device/data-dir.js';
import { openLedgerDb } from '../device/ledger/open.js';
import { Filler } from '../hrng/filler.js';
import { EntropyPool } from '../hrng/pool.js';
import { SimSource, SimStream } from '../hrng/sim-source.js';
import { commitment } from '../provisioning/fingerprint.js';
import { encodeFrame, FRAME, FrameReader } from '../provisioning/frames.js';
import { DRAW_BATCH_BYTES, xorInto } from '../provisioning/transfer.js';
import { exchangeInProcess } from './pairing-inproc.js';
import type { Reporter } from './report.js';

const MB = 1e6;
const MIB = 1 << 20;

interface Timed {
  readonly seconds: number;
  readonly cpu: number;
}

async function timed(f: () => void | Promise<void>): Promise<Timed> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await f();
  const c = process.cpuUsage(c0);
  return { seconds: (performance.now() - t0) / 1000, cpu: (c.user + c.system) / 1e6 };
}

/**
 * Measure the parts on `mib` MiB (1 MiB chunks), with a scratch pool in `dir`.
 * @throws Error when the scratch pool cannot be filled
 */
export async function pairingParts(report: Reporter, dir: string, mib: number): Promise<void> {
  const bytes = mib * MIB;
  const chunk = new SimStream('parts').next(MIB);
  const other = new SimStream('parts-other').next(MIB);
  const padId = new Uint8Array(16);
  const part = (name: string, t: Timed, note: string, cpu = true) => {
    report.figure({
      bench: 'pairing',
      name: `part: ${name}`,
      value: bytes / MB / t.seconds,
      unit: 'MB/s',
      note: cpu ? `${(t.cpu / (bytes / MB)).toFixed(4)} CPU s/MB; ${note}` : note,
    });
  };

  part(
    'chunk commitment (node:crypto SHA-256, as pairing uses)',
    await timed(() => {
      for (let i = 0; i < mib; i++) commitment(padId, i, 'A', chunk);
    }),
    'done twice per chunk on each side',
  );
  part(
    'same hash with @noble/hashes SHA-256 (pure JS), for comparison',
    await timed(() => {
      for (let i = 0; i < mib; i++) sha256(chunk);
    }),
    'what pairing used before',
  );
  part(
    'XOR of two chunks, 64 bits at a time (xorInto, aligned)',
    await timed(() => {
      const own = chunk.slice();
      for (let k = 0; k < mib; k++) xorInto(own, other);
    }),
    'once per chunk on each side',
  );
  part(
    'REVEAL frame encode + parse (the old path: two copies to send, one to receive)',
    await timed(() => {
      const reader = new FrameReader(MIB + 64);
      for (let i = 0; i < mib; i++) {
        const payload = new Uint8Array(4 + chunk.length);
        payload.set(chunk, 4);
        reader.push(encodeFrame(FRAME.REVEAL, payload));
      }
    }),
    'pairing now sends header and pool bytes as two parts (no copy) and keeps only the reassembly copy',
  );

  const both = await exchangeInProcess(dir, bytes, MIB, 8);
  report.figure({
    bench: 'pairing',
    name: 'part: the chunk exchange alone, both sides in this process (in-memory sources, pad files written)',
    value: bytes / MB / both.seconds,
    unit: 'MB/s',
    note: `${(both.cpu / 2 / (bytes / MB)).toFixed(4)} CPU s/MB per side (half of this process's); no pool, no ledger, no burn: the rest of a pairing side's CPU is the pool's`,
  });

  const root = mkdtempSync(join(dir, 'parts-'));
  try {
    const layout = prepareDataDir(root);
    const db = openLedgerDb(layout.ledger);
    const pool = EntropyPool.open({ db, path: layout.pool, maxBytes: bytes });
    try {
      const filler = new Filler({ sources: [new SimSource({ seed: 'parts', chunk: 65_536 })], pool, chunkBytes: MIB });
      const r = await filler.run({ bytes });
      if (r.state === 'failed' || pool.available() < bytes) throw new Error('scratch pool fill failed');
      part(
        'pool draw of 1 MiB with take (read, commit, zero, fdatasync, commit)',
        await timed(() => {
          for (let i = 0; i < mib; i++) pool.take(MIB).bytes.fill(0);
        }),
        'the old per-chunk draw',
      );
      const refill = new Filler({ sources: [new SimSource({ seed: 'parts2', chunk: 65_536 })], pool, chunkBytes: MIB });
      const r2 = await refill.run({ bytes });
      if (r2.state === 'failed' || pool.available() < bytes) throw new Error('scratch pool fill failed');
      const draw = DRAW_BATCH_BYTES / MIB;
      part(
        `pool draw of ${draw} MiB with takeUnburned, burnConsumedAsync every ${2 * draw} MiB`,
        await timed(async () => {
          for (let i = 0, n = 0; i < mib; i += draw, n++) {
            pool.takeUnburned(Math.min(draw, mib - i) * MIB).bytes.fill(0);
            if (n % 2 === 1 || i + draw >= mib) await pool.burnConsumedAsync();
          }
        }),
        `what pairing does now (one ledger commit per ${draw} MiB, one burn + fdatasync per ${2 * draw} MiB)`,
      );
    } finally {
      pool.close();
      db.close();
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
