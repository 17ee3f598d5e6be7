import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prepareDataDir } from '../../device/data-dir.js';
import { EventLog } from '../../device/events.js';
import { type Db, openLedgerDb } from '../../device/ledger/open.js';
import { EntropyPool } from '../../hrng/pool.js';

/** A fresh data dir with a ledger, an event log and a pool; `cleanup` closes and removes everything. */
export function tmpPool(maxBytes = 1 << 20): {
  root: string;
  db: Db;
  events: EventLog;
  pool: EntropyPool;
  reopen: (max?: number) => EntropyPool;
  cleanup: () => void;
} {
  const root = mkdtempSync(join(tmpdir(), 'onepad-hrng-'));
  const layout = prepareDataDir(root);
  const db = openLedgerDb(layout.ledger);
  const events = new EventLog(layout.events);
  const state = {
    root,
    db,
    events,
    pool: EntropyPool.open({ db, path: layout.pool, maxBytes, events }),
    reopen(max = maxBytes) {
      state.pool.close();
      state.pool = EntropyPool.open({ db, path: layout.pool, maxBytes: max, events });
      return state.pool;
    },
    cleanup() {
      state.pool.close();
      db.close();
      events.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
  return state;
}

import { OnepadError } from '../../device/errors.js';
import type { RawSource, SourceKind } from '../../hrng/source.js';

/** An in-process source for filler tests: bytes from `gen(offset, n)`, with optional faults. */
export class ScriptedSource implements RawSource {
  readonly kind: SourceKind = 'simulated';
  readonly insecure: boolean;
  readonly claimedH: number;
  readonly minBytesPerSecond: number;
  produced = 0;
  opened = false;
  closed = false;
  private wakeClose: (() => void) | null = null;

  constructor(
    readonly name: string,
    private readonly gen: (offset: number, n: number) => Uint8Array,
    private readonly opts: {
      chunk?: number;
      delayMs?: number;
      /** After this many bytes: 'lost' rejects, 'hang' never answers. */
      endAt?: number;
      end?: 'lost' | 'hang';
      failOpen?: boolean;
      claimedH?: number;
      minBytesPerSecond?: number;
      insecure?: boolean;
    } = {},
  ) {
    this.claimedH = opts.claimedH ?? 8;
    this.minBytesPerSecond = opts.minBytesPerSecond ?? 0;
    this.insecure = opts.insecure ?? true;
  }

  async open(): Promise<void> {
    if (this.opts.failOpen) throw new OnepadError('HRNG_SOURCE_UNAVAILABLE', { source: this.name, reason: 'test' });
    this.opened = true;
  }

  async read(max: number): Promise<Uint8Array> {
    if (this.closed) throw new OnepadError('HRNG_SOURCE_LOST', { source: this.name, canceled: true });
    if (this.opts.endAt !== undefined && this.produced >= this.opts.endAt) {
      if (this.opts.end === 'hang') {
        await new Promise<void>((r) => {
          this.wakeClose = r;
        });
        throw new OnepadError('HRNG_SOURCE_LOST', { source: this.name, canceled: true });
      }
      throw new OnepadError('HRNG_SOURCE_LOST', { source: this.name, reason: 'test unplug' });
    }
    if (this.opts.delayMs) await new Promise((r) => setTimeout(r, this.opts.delayMs));
    let n = Math.min(max, this.opts.chunk ?? 4096);
    if (this.opts.endAt !== undefined) n = Math.min(n, this.opts.endAt - this.produced);
    const out = this.gen(this.produced, n);
    this.produced += n;
    return out;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wakeClose?.();
  }

  info() {
    return { kind: 'scripted' };
  }
}

/** The first `n` bytes of a seed's stream, and a generator reading it at any offset. */
export function streamOf(seed: string, n: number): { bytes: Uint8Array; gen: (off: number, k: number) => Uint8Array } {
  const bytes = new SimStream(seed).next(n);
  return { bytes, gen: (off, k) => bytes.slice(off, off + k) };
}

import { SimStream } from '../../hrng/sim-source.js';
