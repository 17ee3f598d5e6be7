import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HealthGate } from '../../hrng/gate.js';
import { SimStream } from '../../hrng/sim-source.js';
import { expectSameBytes } from './pipeline-model.js';

const HOLD = 384 * 1024;
const opts = { alphaLog2: 30, h: 4, holdbackBytes: HOLD, repeatHistoryBytes: 1 << 20 };
const released = (n: number) => (n > HOLD ? Math.floor((n - HOLD) / 512) * 512 : 0);

describe('HealthGate', () => {
  it('holds every byte until the holdback after it has passed every test, then releases whole 512-byte units', () => {
    const g = new HealthGate(opts);
    const data = new SimStream('gate').next(HOLD + 1500);
    expect(g.push(data.subarray(0, HOLD + 511)).released.length).toBe(0);
    expect(g.state).toBe('startup');
    const r1 = g.push(data.subarray(HOLD + 511, HOLD + 512));
    expect(r1.released).toEqual(data.subarray(0, 512));
    expect(g.state).toBe('running');
    const r2 = g.push(data.subarray(HOLD + 512, HOLD + 1500));
    expect(r2.released).toEqual(data.subarray(512, 1024));
    expect(g.heldBytes).toBe(HOLD + 1500 - 1024);
  });

  it('released bytes are exactly a prefix of the input, however it is chunked (property)', () => {
    const data = new SimStream('chunks').next(HOLD + 6000);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 80_000 }), { minLength: 1, maxLength: 20 }), (cuts) => {
        const g = new HealthGate(opts);
        const out: Uint8Array[] = [];
        let pos = 0;
        for (const c of cuts) {
          const end = Math.min(data.length, pos + c);
          out.push(g.push(data.subarray(pos, end)).released);
          pos = end;
        }
        const all = Buffer.concat(out);
        expect(all.length).toBe(released(pos));
        expectSameBytes(all, data.subarray(0, all.length));
      }),
      { numRuns: 15 },
    );
  });

  it('pushOwned holds the array itself (no copy), releases what push would, and zeroes it when it is dropped', () => {
    const data = new SimStream('owned').next(HOLD + 4096);
    const a = new HealthGate(opts);
    const b = new HealthGate(opts);
    const first = data.slice(0, HOLD + 1024);
    expect(b.push(data.subarray(0, HOLD + 1024)).released).toEqual(a.pushOwned(first).released);
    expect(a.pushOwned(data.slice(HOLD + 1024)).released).toEqual(b.push(data.subarray(HOLD + 1024)).released);
    // first's bytes past the released 1024 are held in place: dropping them zeroes the caller's old array.
    expect(first.subarray(1024).some((v) => v !== 0)).toBe(true);
    a.discardHeld();
    expect(first.every((v) => v === 0)).toBe(true);
    // A failing push zeroes the array handed over, and a failed gate takes nothing.
    const g = new HealthGate(opts);
    const stuck = new Uint8Array(4096).fill(0x5a);
    expect(g.pushOwned(stuck).failure?.test).toBe('rct');
    expect(stuck.every((v) => v === 0)).toBe(true);
    const late = data.slice(0, 100);
    expect(g.pushOwned(late).released.length).toBe(0);
    expect(late.every((v) => v === 0)).toBe(true);
  });

  it('a fault anywhere never releases a byte at or after its start, however chunked (property)', () => {
    const base = new SimStream('faulty').next(HOLD + 200_000);
    const faults: ((d: Uint8Array, at: number) => void)[] = [
      (d, at) => d.fill(0x77, at, at + 40), // stuck run
      (d, at) => d.copyWithin(at, at - 4096, at + 60_000 - 4096), // a 4 KiB block repeated
      (d, at) => {
        for (let i = at; i < d.length; i++) d[i] = d[at - 8 + ((i - at) % 8)] as number; // period 8 from `at`
      },
    ];
    fc.assert(
      fc.property(
        fc.integer({ min: 5000, max: HOLD + 100_000 }),
        fc.integer({ min: 0, max: faults.length - 1 }),
        fc.array(fc.integer({ min: 1, max: 90_000 }), { minLength: 1, maxLength: 8 }),
        (at, which, cuts) => {
          const data = base.slice();
          (faults[which] as (d: Uint8Array, at: number) => void)(data, at);
          const g = new HealthGate(opts);
          let out = 0;
          let failure = null;
          for (let i = 0, pos = 0; pos < data.length && !failure; i++) {
            const end = Math.min(data.length, pos + (cuts[i % cuts.length] as number));
            const r = g.push(data.subarray(pos, end));
            expectSameBytes(r.released, data.subarray(out, out + r.released.length));
            out += r.released.length;
            failure = r.failure ?? null;
            pos = end;
          }
          expect(failure).not.toBe(null);
          expect(failure?.sample).toBeGreaterThanOrEqual(at);
          expect(out).toBeLessThanOrEqual(at);
          expect(g.heldBytes).toBe(0);
        },
      ),
      { numRuns: 12 },
    );
  });

  it('a failure drops everything held, latches, and only resume starts over with every test reset', () => {
    const g = new HealthGate(opts);
    const good = new SimStream('stuck').next(HOLD + 2048);
    expect(g.push(good).released.length).toBe(2048);
    const r = g.push(new Uint8Array(100).fill(0x42));
    expect(r.released.length).toBe(0);
    expect(r.failure).toMatchObject({ test: 'rct', phase: 'continuous', sample: HOLD + 2048 + 15 });
    expect(r.failure?.dropped).toBe(HOLD + 16);
    expect(g.state).toBe('failed');
    expect(g.heldBytes).toBe(0);
    expect(g.push(good).released.length).toBe(0);
    g.resume();
    expect(g.state).toBe('startup');
    // The same bytes again: the repeated-block history was reset too, so they are not a repeat.
    expect(g.push(good).released.length).toBe(2048);
  });

  it('names the test that fails: periodic, repeat, mcv, collision, fips-rate', () => {
    const run = (h: number, bytes: Uint8Array) => {
      const g = new HealthGate({ ...opts, h });
      return g.push(bytes).failure?.test;
    };
    const good = randomBytes(600_000);
    const periodic = good.slice();
    for (let i = 100_000; i < periodic.length; i++) periodic[i] = periodic[i - 1000] as number;
    expect(run(4, periodic)).toBe('periodic');
    // Period 8192 is beyond the periodic test; aligned 64-byte blocks repeat, the repeated-block test sees it.
    const long = good.slice();
    for (let i = 100_000; i < long.length; i++) long[i] = long[i - 8192] as number;
    expect(run(4, long)).toBe('repeat');
    // A 32-bit counter: one value in four is the same high byte.
    const counter = Uint8Array.from({ length: 300_000 }, (_, i) => ((i >>> 2) >>> (8 * (i & 3))) & 0xff);
    expect(['mcv', 'apt']).toContain(run(4, counter));
    // Bytes with 7 bits of min-entropy: 4 values of 256 twice as likely.
    const skewed = good.map((b) => (b < 8 ? b & 3 : b));
    expect(run(8, skewed)).toBe('mcv');
    // Bits with p(1) = 0.51: FIPS monobit fails ~15% of blocks.
    const u = new Uint16Array(randomBytes(700_000 * 16).buffer);
    const biased = Uint8Array.from({ length: 700_000 }, (_, i) => {
      let v = 0;
      for (let k = 0; k < 8; k++) v = (v << 1) | ((u[i * 8 + k] as number) < 0.51 * 65536 ? 1 : 0);
      return v;
    });
    expect(run(4, biased)).toBe('fips-rate');
    // Bits with p(1) = 0.75 claimed as 8 bits per byte: the collision test sees it.
    const heavy = Uint8Array.from({ length: 100_000 }, (_, i) => {
      let v = 0;
      for (let k = 0; k < 8; k++) v = (v << 1) | ((u[i * 8 + k] as number) < 0.75 * 65536 ? 1 : 0);
      return v;
    });
    expect(['collision', 'mcv', 'apt']).toContain(run(8, heavy));
  });

  it('keeps its own copy of held bytes, also when given a Buffer the caller zeroes afterwards', () => {
    const g = new HealthGate(opts);
    const data = new SimStream('buffer').next(HOLD + 4096);
    const copy = Buffer.from(data);
    const r = g.push(copy);
    copy.fill(0);
    const r2 = g.push(new Uint8Array(0));
    expect(r2.released.length).toBe(0);
    expectSameBytes(r.released, data.subarray(0, 4096));
    const more = Buffer.from(new SimStream('buffer-2').next(4096));
    const r3 = g.push(more);
    more.fill(0);
    expectSameBytes(r3.released, data.subarray(4096, 8192));
  });

  it('refuses a holdback shorter than the longest test window or not whole units', () => {
    expect(() => new HealthGate({ ...opts, holdbackBytes: 300_000 })).toThrow(RangeError);
    expect(() => new HealthGate({ ...opts, holdbackBytes: HOLD + 1 })).toThrow(RangeError);
  });
});
