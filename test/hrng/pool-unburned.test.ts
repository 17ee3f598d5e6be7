/**
 * The pool's deferred burn (takeUnburned + burnConsumedAsync), used by pairing: bytes are never handed out twice,
 * unburned bytes keep their room in the ring (an append never lands on them), and every path burns them: the
 * async burn, the next take, and open() after a crash.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { dataDirLayout } from '../../device/data-dir.js';
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
const ringFile = (root: string) => readFileSync(dataDirLayout(root).pool);

describe('EntropyPool deferred burn', () => {
  it('takeUnburned commits consumed at once, leaves the bytes until burnConsumedAsync zeroes them', async () => {
    const t = fresh(4096);
    const data = new SimStream('u').next(3000);
    t.pool.append(data, false);
    const into = new Uint8Array(2000);
    const a = t.pool.takeUnburned(1000, into);
    expect(a.bytes.buffer).toBe(into.buffer);
    expect(a.bytes).toEqual(data.subarray(0, 1000));
    const b = t.pool.takeUnburned(1000);
    expect(b.bytes).toEqual(data.subarray(1000, 2000));
    expect(t.pool.counters()).toMatchObject({ consumed: 2000, burned: 0 });
    expect(t.pool.unburned()).toBe(2000);
    expect(Buffer.from(ringFile(t.root).subarray(0, 2000))).toEqual(Buffer.from(data.subarray(0, 2000)));
    expect(await t.pool.burnConsumedAsync()).toBe(2000);
    expect(
      ringFile(t.root)
        .subarray(0, 2000)
        .every((x) => x === 0),
    ).toBe(true);
    expect(t.pool.counters()).toMatchObject({ consumed: 2000, burned: 2000 });
    expect(await t.pool.burnConsumedAsync()).toBe(0);
  });

  it('unburned bytes keep their room: an append cannot overwrite them (and the burn cannot zero new bytes)', async () => {
    const t = fresh(4096);
    const s = new SimStream('room');
    t.pool.append(s.next(4096), false);
    t.pool.takeUnburned(3000).bytes.fill(0);
    expect(t.pool.free()).toBe(0);
    const fresh2 = s.next(3000);
    expect(t.pool.append(fresh2, false)).toBe(0);
    await t.pool.burnConsumedAsync();
    expect(t.pool.free()).toBe(3000);
    expect(t.pool.append(fresh2, false)).toBe(3000);
    // The new bytes are intact after another (empty) burn, and come out in order after the old ones.
    await t.pool.burnConsumedAsync();
    expect(t.pool.take(1096).bytes.length).toBe(1096);
    expect(t.pool.take(3000).bytes).toEqual(fresh2);
  });

  it('a plain take burns the unburned bytes before it too', () => {
    const t = fresh(4096);
    t.pool.append(new SimStream('t').next(3000), false);
    t.pool.takeUnburned(1000);
    t.pool.take(500);
    expect(t.pool.counters()).toMatchObject({ consumed: 1500, burned: 1500 });
    expect(
      ringFile(t.root)
        .subarray(0, 1500)
        .every((x) => x === 0),
    ).toBe(true);
  });

  it('a crash with bytes drawn but not burned: open() burns them and they are never handed out', () => {
    const t = fresh(4096);
    const data = new SimStream('crash').next(3000);
    t.pool.append(data, false);
    t.pool.takeUnburned(2000);
    const p = t.reopen(); // as after a crash: the counters are what the ledger holds
    expect(p.counters()).toMatchObject({ consumed: 2000, burned: 2000 });
    expect(
      ringFile(t.root)
        .subarray(0, 2000)
        .every((x) => x === 0),
    ).toBe(true);
    expect(p.take(1000).bytes).toEqual(data.subarray(2000, 3000));
  });

  it('any sequence of appends, takes, deferred takes and burns: bytes come out once, in order, burned ones zero', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.record({ op: fc.constant('append' as const), n: fc.integer({ min: 1, max: 1500 }) }),
            fc.record({ op: fc.constant('take' as const), n: fc.integer({ min: 0, max: 1500 }) }),
            fc.record({ op: fc.constant('defer' as const), n: fc.integer({ min: 0, max: 1500 }) }),
            fc.record({ op: fc.constant('burn' as const), n: fc.constant(0) }),
          ),
          { maxLength: 20 },
        ),
        async (ops) => {
          const t = tmpPool(2048);
          try {
            const src = new SimStream('model');
            const expected: number[] = [];
            const out: number[] = [];
            for (const { op, n } of ops) {
              if (op === 'append') {
                const b = src.next(n);
                const k = t.pool.append(b, false);
                expected.push(...b.subarray(0, k));
                // What did not fit is dropped by the caller; the stream moves on.
              } else if (op === 'burn') {
                await t.pool.burnConsumedAsync();
              } else {
                const k = Math.min(n, t.pool.available());
                const r = op === 'take' ? t.pool.take(k) : t.pool.takeUnburned(k);
                out.push(...r.bytes);
              }
              const c = t.pool.counters();
              expect(c.filled - c.burned).toBeLessThanOrEqual(c.capacity);
              expect(c.burned).toBeLessThanOrEqual(c.consumed);
            }
            expect(out).toEqual(expected.slice(0, out.length));
            await t.pool.burnConsumedAsync();
            const c = t.pool.counters();
            const ring = ringFile(t.root);
            // Every ring position not holding a live byte and ever written is zero after the final burn.
            for (let p = Math.max(0, c.consumed - c.capacity); p < c.consumed; p++) {
              if (p >= c.filled - c.capacity) expect(ring[p % c.capacity]).toBe(0);
            }
          } finally {
            t.cleanup();
          }
        },
      ),
      { numRuns: 25 },
    );
  }, 180_000);
});
