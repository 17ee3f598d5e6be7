import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HealthGate } from '../../hrng/gate.js';
import { SimStream } from '../../hrng/sim-source.js';

const opts = { alphaLog2: 30, h: 4 };

describe('HealthGate', () => {
  it('holds the first 1024 samples until the start-up test passed, then whole 512-byte windows', () => {
    const g = new HealthGate(opts);
    const s = new SimStream('gate');
    const data = s.next(1024 + 512 + 100);
    expect(g.push(data.subarray(0, 1023)).released.length).toBe(0);
    expect(g.state).toBe('startup');
    const r1 = g.push(data.subarray(1023, 1024));
    expect(r1.released).toEqual(data.subarray(0, 1024));
    expect(g.state).toBe('running');
    const r2 = g.push(data.subarray(1024, 1024 + 600));
    expect(r2.released).toEqual(data.subarray(1024, 1536));
    expect(g.heldBytes).toBe(88);
  });

  it('released bytes are exactly a prefix of the input in whole windows, however it is chunked (property)', () => {
    const data = new SimStream('chunks').next(4000);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 20 }), (cuts) => {
        const g = new HealthGate(opts);
        const out: number[] = [];
        let pos = 0;
        for (const c of cuts) {
          const end = Math.min(data.length, pos + c);
          out.push(...g.push(data.subarray(pos, end)).released);
          pos = end;
        }
        const expected = pos < 1024 ? 0 : 1024 + Math.floor((pos - 1024) / 512) * 512;
        expect(out.length).toBe(expected);
        expect(Uint8Array.from(out)).toEqual(data.subarray(0, expected));
      }),
    );
  });

  it('release and failure do not depend on how the stream is chunked (property)', () => {
    const base = new SimStream('faulty').next(6000);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 5900 }),
        fc.integer({ min: 1, max: 40 }),
        fc.array(fc.integer({ min: 1, max: 900 }), { minLength: 1, maxLength: 12 }),
        (at, len, cuts) => {
          const data = base.slice();
          data.fill(0x77, at, Math.min(data.length, at + len));
          const once = new HealthGate({ alphaLog2: 30, h: 8 });
          const r1 = once.push(data);
          const chunked = new HealthGate({ alphaLog2: 30, h: 8 });
          const out: number[] = [];
          let failure = null;
          let pos = 0;
          for (let i = 0; pos < data.length; i++) {
            const end = Math.min(data.length, pos + (cuts[i % cuts.length] as number));
            const r = chunked.push(data.subarray(pos, end));
            out.push(...r.released);
            failure = failure ?? r.failure ?? null;
            pos = end;
          }
          expect(Uint8Array.from(out)).toEqual(r1.released);
          expect(failure).toEqual(r1.failure ?? null);
          if (len >= 5) expect(r1.failure?.test).toBe('rct');
        },
      ),
      { numRuns: 80 },
    );
  });

  it('a stuck byte in the start-up block fails it, releases nothing, and latches until resume', () => {
    const g = new HealthGate(opts);
    const good = new SimStream('stuck').next(2048);
    const stuck = new Uint8Array(100).fill(0x42);
    const r = g.push(Uint8Array.from([...good.subarray(0, 500), ...stuck]));
    expect(r.released.length).toBe(0);
    expect(r.failure).toMatchObject({ test: 'rct', phase: 'startup', sample: 508 });
    expect(g.state).toBe('failed');
    expect(g.push(good).released.length).toBe(0);
    g.resume();
    expect(g.state).toBe('startup');
    expect(g.push(good).released.length).toBe(2048);
  });

  it('a failure in a later window drops that window only; earlier windows were released', () => {
    const g = new HealthGate(opts);
    const good = new SimStream('later').next(1024 + 512 + 300);
    expect(g.push(good).released.length).toBe(1536);
    // 300 good bytes are held in window 3; now a biased tail: the window's first byte repeats.
    const first = good[1536] as number;
    const r = g.push(new Uint8Array(212).fill(first).map((v, i) => (i % 2 ? v : (i * 7) & 0xff)));
    expect(r.released.length).toBe(0);
    expect(r.failure?.phase).toBe('continuous');
    expect(r.failure?.dropped).toBeGreaterThan(300);
  });

  it('a biased source fails the APT without failing the RCT', () => {
    const g = new HealthGate(opts);
    const s = new SimStream('bias');
    let failure = null;
    for (let i = 0; i < 50 && !failure; i++) {
      const raw = s.next(512).map((b) => (b < 90 ? 0 : b)); // ~35% zeros, in short runs
      failure = g.push(raw).failure ?? null;
    }
    expect(failure?.test).toBe('apt');
  });

  it('rejects a start-up length that is not whole APT windows', () => {
    expect(() => new HealthGate({ ...opts, startupSamples: 1000 })).toThrow(RangeError);
  });
});
