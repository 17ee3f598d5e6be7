import { readFileSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { dataDirLayout } from '../../device/data-dir.js';
import { isOnepadError } from '../../device/errors.js';
import { openLedgerDb } from '../../device/ledger/open.js';
import { EntropyPool } from '../../hrng/pool.js';
import { SimStream } from '../../hrng/sim-source.js';
import { tmpPool } from './helpers.js';

let cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups) c();
  cleanups = [];
});
function fresh(max = 4096) {
  const t = tmpPool(max);
  cleanups.push(t.cleanup);
  return t;
}

describe('EntropyPool', () => {
  it('creates a 0600 ring file of the configured size and counts appends', () => {
    const t = fresh(4096);
    const layout = dataDirLayout(t.root);
    expect(statSync(layout.pool).mode & 0o777).toBe(0o600);
    expect(statSync(layout.pool).size).toBe(4096);
    const data = new SimStream('p').next(1000);
    expect(t.pool.append(data, false)).toBe(1000);
    expect(t.pool.available()).toBe(1000);
    expect(t.pool.free()).toBe(3096);
    expect(readFileSync(layout.pool).subarray(0, 1000)).toEqual(Buffer.from(data));
  });

  it('take returns bytes in order, burns them on disk and never hands a byte out twice', () => {
    const t = fresh(4096);
    const data = new SimStream('take').next(3000);
    t.pool.append(data, false);
    const a = t.pool.take(1200);
    const b = t.pool.take(1800);
    expect(Buffer.concat([a.bytes, b.bytes])).toEqual(Buffer.from(data));
    expect(
      readFileSync(dataDirLayout(t.root).pool)
        .subarray(0, 3000)
        .every((x) => x === 0),
    ).toBe(true);
    expect(t.pool.counters()).toMatchObject({ filled: 3000, consumed: 3000, burned: 3000 });
  });

  it('wraps around the ring and stops at the maximum', () => {
    const t = fresh(4096);
    const s = new SimStream('wrap');
    const all = s.next(10000);
    expect(t.pool.append(all.subarray(0, 4000), false)).toBe(4000);
    expect(t.pool.append(all.subarray(4000, 5000), false)).toBe(96); // full
    expect(t.pool.take(3000).bytes).toEqual(all.subarray(0, 3000));
    expect(t.pool.append(all.subarray(4096, 7096), false)).toBe(3000);
    expect(t.pool.take(4096).bytes).toEqual(all.subarray(3000, 7096));
  });

  it('throws POOL_INSUFFICIENT and takes nothing when asked for more than it holds', () => {
    const t = fresh();
    t.pool.append(new SimStream('x').next(10), false);
    let err: unknown;
    try {
      t.pool.take(11);
    } catch (e) {
      err = e;
    }
    expect(isOnepadError(err, 'POOL_INSUFFICIENT')).toBe(true);
    expect(t.pool.available()).toBe(10);
  });

  it('tracks insecure ranges: insecure until every byte up to the last simulated append is consumed', () => {
    const t = fresh();
    const s = new SimStream('ins');
    t.pool.append(s.next(100), false);
    expect(t.pool.insecure).toBe(false);
    t.pool.append(s.next(100), true);
    t.pool.append(s.next(100), false);
    expect(t.pool.insecure).toBe(true);
    expect(t.pool.take(50).insecure).toBe(true); // conservative: below insecure_until
    expect(t.pool.take(150).insecure).toBe(true);
    expect(t.pool.insecure).toBe(false);
    expect(t.pool.take(100).insecure).toBe(false);
    // Survives a restart.
    t.pool.append(s.next(10), true);
    expect(t.reopen().insecure).toBe(true);
  });

  it('survives reopening with the same bytes and counters', () => {
    const t = fresh();
    const data = new SimStream('reopen').next(2000);
    t.pool.append(data, false);
    t.pool.take(500);
    const p = t.reopen();
    expect(p.available()).toBe(1500);
    expect(p.take(1500).bytes).toEqual(data.subarray(500));
  });

  it('finishes a burn interrupted by a crash and records POOL_RECOVERED', () => {
    const t = fresh();
    const data = new SimStream('burn').next(1000);
    t.pool.append(data, false);
    // Simulate a crash between the consumed commit and the burn: counters say consumed, disk still has bytes.
    t.db.prepare('UPDATE pool SET consumed = 600').run();
    t.reopen();
    const file = readFileSync(dataDirLayout(t.root).pool);
    expect(file.subarray(0, 600).every((x) => x === 0)).toBe(true);
    expect(file.subarray(600, 1000)).toEqual(Buffer.from(data.subarray(600)));
    expect(t.pool.counters()).toMatchObject({ consumed: 600, burned: 600 });
    expect(t.events.recent(5, ['POOL_RECOVERED'])[0]?.detail).toEqual({ burned: 600 });
  });

  it('adopts a new maximum when empty, keeps the old ring while bytes are held', () => {
    const t = fresh(4096);
    t.pool.append(new SimStream('cap').next(100), false);
    expect(t.reopen(8192).capacity).toBe(4096);
    t.pool.take(100);
    expect(t.reopen(8192).capacity).toBe(8192);
    expect(statSync(dataDirLayout(t.root).pool).size).toBe(8192);
  });

  it('throws POOL_FILE_INVALID when the file is missing or short while bytes are held, or is a symlink', () => {
    const t = fresh(4096);
    t.pool.append(new SimStream('inv').next(100), false);
    t.pool.close();
    const path = dataDirLayout(t.root).pool;
    writeFileSync(path, new Uint8Array(10));
    expect(() => EntropyPool.open({ db: t.db, path, maxBytes: 4096 })).toThrow(
      expect.objectContaining({ code: 'POOL_FILE_INVALID' }),
    );
    unlinkSync(path);
    expect(() => EntropyPool.open({ db: t.db, path, maxBytes: 4096 })).toThrow(
      expect.objectContaining({ code: 'POOL_FILE_INVALID' }),
    );
    symlinkSync(join(t.root, 'elsewhere'), path);
    expect(() => EntropyPool.open({ db: t.db, path, maxBytes: 4096 })).toThrow(
      expect.objectContaining({ code: 'POOL_FILE_INVALID' }),
    );
    unlinkSync(path);
    t.db.prepare('UPDATE pool SET filled = 0, consumed = 0, burned = 0, insecure_until = 0').run();
    t.pool = EntropyPool.open({ db: t.db, path, maxBytes: 4096 });
  });

  it('keeps the latch across reopen', () => {
    const t = fresh();
    expect(t.pool.latch()).toBe(null);
    t.pool.setLatch('HRNG_HEALTH_FAILED:sim');
    expect(t.reopen().latch()).toBe('HRNG_HEALTH_FAILED:sim');
  });

  it('matches an in-memory model under random appends, takes and reopens (property)', () => {
    const t = fresh(2048);
    const stream = new SimStream('model');
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({
              op: fc.constant('append' as const),
              n: fc.integer({ min: 0, max: 900 }),
              insecure: fc.boolean(),
            }),
            fc.record({ op: fc.constant('take' as const), n: fc.integer({ min: 0, max: 900 }) }),
            fc.record({ op: fc.constant('reopen' as const) }),
          ),
          { maxLength: 25 },
        ),
        (ops) => {
          // Model: the held bytes, each with its insecure flag (conservative: marks everything before it).
          const held: { b: number; ins: boolean }[] = [];
          while (t.pool.available() > 0) t.pool.take(t.pool.available());
          for (const o of ops) {
            if (o.op === 'append') {
              const data = stream.next(o.n);
              const n = t.pool.append(data, o.insecure);
              expect(n).toBe(Math.min(o.n, 2048 - held.length));
              if (o.insecure && n > 0) for (const h of held) h.ins = true;
              for (let i = 0; i < n; i++) held.push({ b: data[i] as number, ins: o.insecure });
            } else if (o.op === 'take') {
              if (o.n > held.length) {
                expect(() => t.pool.take(o.n)).toThrow();
                continue;
              }
              const got = t.pool.take(o.n);
              const want = held.splice(0, o.n);
              expect(Array.from(got.bytes)).toEqual(want.map((h) => h.b));
              expect(got.insecure).toBe(want.some((h) => h.ins));
            } else {
              t.reopen();
            }
            expect(t.pool.available()).toBe(held.length);
            expect(t.pool.insecure).toBe(held.some((h) => h.ins));
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('ledger migrations 2 and 3 (pool counters, latch)', () => {
  it('upgrade a version-1 ledger to an empty pool without a latch', async () => {
    const t = fresh();
    const { MIGRATIONS } = await import('../../device/ledger/migrations.js');
    const path = join(t.root, 'old.db');
    openLedgerDb(path, MIGRATIONS.slice(0, 1)).close();
    const db = openLedgerDb(path);
    expect(db.pragma('user_version', { simple: true })).toBeGreaterThanOrEqual(3);
    expect(db.prepare('SELECT * FROM pool').all()).toEqual([
      { id: 1, capacity: 0, filled: 0, consumed: 0, burned: 0, insecure_until: 0, latch: null },
    ]);
    expect(() => db.prepare('UPDATE pool SET consumed = 5').run()).toThrow(/CHECK/);
    expect(() =>
      db
        .prepare('INSERT INTO pool (id, capacity, filled, consumed, burned, insecure_until) VALUES (2,0,0,0,0,0)')
        .run(),
    ).toThrow(/CHECK/);
    db.close();
  });

  it('upgrade a version-2 ledger holding pool bytes without touching its counters', async () => {
    const t = fresh();
    const { MIGRATIONS } = await import('../../device/ledger/migrations.js');
    const path = join(t.root, 'v2.db');
    const old = openLedgerDb(path, MIGRATIONS.slice(0, 2));
    old.prepare('UPDATE pool SET capacity = 4096, filled = 300, consumed = 100, burned = 100').run();
    old.close();
    const db = openLedgerDb(path);
    expect(db.prepare('SELECT filled, consumed, latch FROM pool').get()).toEqual({
      filled: 300,
      consumed: 100,
      latch: null,
    });
    db.close();
  });
});
