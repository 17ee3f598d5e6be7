/**
 * The pipe's records and the chunk planner, with property tests: every record round-trips, any byte string
 * either parses or is MALFORMED (never throws anything else), the order checker accepts exactly the next record
 * of its connection, the package reader splits any chunking of a stream the same way, and a planned chunk always
 * fits the frame, the budget and the pad.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  encodeFrame,
  FRAME_HEADER,
  FrameOrder,
  frameNotice,
  framePackage,
  PackageReader,
  type PipeFrame,
  parseFrame,
} from '../../client/pipe-frames.js';
import { isOnepadError } from '../../device/errors.js';
import { planChunk } from '../../device/session.js';

const conn = fc.uint8Array({ minLength: 8, maxLength: 8 });
const frameArb: fc.Arbitrary<PipeFrame> = fc.record({
  type: fc.constantFrom('OPEN' as const, 'DATA' as const, 'EOF' as const),
  conn,
  seq: fc.integer({ min: 0, max: 0xffff_ffff }),
  data: fc.uint8Array({ maxLength: 300 }),
});

describe('pipe records', () => {
  it('round-trip, also with zero padding after them', () => {
    fc.assert(
      fc.property(frameArb, fc.integer({ min: 0, max: 100 }), (f, pad) => {
        const e = encodeFrame(f);
        const padded = new Uint8Array(e.length + pad);
        padded.set(e);
        const p = parseFrame(padded);
        expect(p.type).toBe(f.type);
        expect(Buffer.from(p.conn).equals(Buffer.from(f.conn))).toBe(true);
        expect(p.seq).toBe(f.seq);
        expect(Buffer.from(p.data).equals(Buffer.from(f.data))).toBe(true);
      }),
    );
  });

  it('any bytes parse or are MALFORMED; a non-zero byte after the data is refused', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (b) => {
        try {
          parseFrame(b);
        } catch (e) {
          expect(isOnepadError(e, 'MALFORMED')).toBe(true);
        }
      }),
    );
    const e = encodeFrame({ type: 'DATA', conn: new Uint8Array(8), seq: 0, data: new Uint8Array([1]) });
    const tail = new Uint8Array(e.length + 3);
    tail.set(e);
    tail[e.length + 2] = 1;
    expect(() => parseFrame(tail)).toThrow(/malformed/);
    expect(FRAME_HEADER).toBe(17);
  });

  it('the order checker takes exactly OPEN, then the next sequence numbers of the same connection, nothing after EOF', () => {
    const c = new Uint8Array(8).fill(5);
    const other = new Uint8Array(8).fill(6);
    const f = (type: PipeFrame['type'], seq: number, id = c): PipeFrame => ({
      type,
      conn: id,
      seq,
      data: new Uint8Array(),
    });
    const o = new FrameOrder(null);
    expect(() => o.accept(f('DATA', 0))).toThrow();
    o.accept(f('OPEN', 0));
    expect(() => o.accept(f('DATA', 2))).toThrow();
    expect(() => o.accept(f('DATA', 1, other))).toThrow();
    expect(() => o.accept(f('OPEN', 1))).toThrow();
    o.accept(f('DATA', 1));
    o.accept(f('EOF', 2));
    expect(o.done).toBe(true);
    expect(() => o.accept(f('DATA', 3))).toThrow();
  });

  it('the package reader gives the same packages whatever the chunking', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 200 }), { maxLength: 20 }),
        fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 30 }),
        (pkgs, cuts) => {
          const stream = Buffer.concat(pkgs.map(framePackage));
          const r = new PackageReader(1000);
          const got: Uint8Array[] = [];
          let off = 0;
          let i = 0;
          while (off < stream.length) {
            const n = cuts[i++ % cuts.length] as number;
            got.push(...r.push(stream.subarray(off, off + n)));
            off += n;
          }
          expect(got.map((g) => Buffer.from(g).toString('hex'))).toEqual(
            pkgs.map((p) => Buffer.from(p).toString('hex')),
          );
          expect(r.pending).toBe(0);
        },
      ),
    );
    expect(() => new PackageReader(10).push(framePackage(new Uint8Array(11)))).toThrow();
  });

  it('on a channel: a failure notice comes out in its place, whatever the chunking; a bad one is MALFORMED', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 100 }), { maxLength: 8 }),
        fc.integer({ min: 1, max: 9 }),
        (pkgs, cut) => {
          const stream = Buffer.concat([...pkgs.map(framePackage), frameNotice('LINK_UNREACHABLE')]);
          const r = new PackageReader(1000, true);
          const got: (Uint8Array | string)[] = [];
          for (let off = 0; off < stream.length; off += cut) got.push(...r.push(stream.subarray(off, off + cut), true));
          expect(got.at(-1)).toBe('LINK_UNREACHABLE');
          expect(got).toHaveLength(pkgs.length + 1);
        },
      ),
    );
    const bad = Buffer.concat([Buffer.alloc(4), Buffer.from([3]), Buffer.from('a b')]);
    expect(() => new PackageReader(10, true).push(bad, true)).toThrow(/./);
    try {
      new PackageReader(10, true).push(bad, true);
    } catch (e) {
      expect(isOnepadError(e) && e.code).toBe('MALFORMED');
    }
    // Without notices (a pipe connection of its own), a zero length stays MALFORMED.
    expect(() => new PackageReader(10).push(frameNotice('X'))).toThrow();
  });
});

describe('chunk planner', () => {
  it('a chunk holds the frame, never exceeds the budget or the pad, and fails only when the frame cannot fit', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5000 }),
        fc.integer({ min: 1, max: 5000 }),
        fc.integer({ min: 1, max: 100_000 }),
        fc.integer({ min: 0, max: 200_000 }),
        fc.integer({ min: 0, max: 5000 }),
        fc.integer({ min: 0, max: 200_000 }),
        (need, targetSlots, targetStream, budgetLeft, slotsLeft, streamLeft) => {
          const p = planChunk({ need, targetSlots, targetStream, budgetLeft, slotsLeft, streamLeft });
          if ('fail' in p) {
            const padShort = slotsLeft < 1 || streamLeft < need;
            expect(p.fail).toBe(padShort ? 'pad' : 'budget');
            if (!padShort) expect(32 + need).toBeGreaterThan(budgetLeft);
            return;
          }
          expect(p.slots).toBeGreaterThanOrEqual(1);
          expect(p.stream).toBeGreaterThanOrEqual(need);
          expect(32 * p.slots + p.stream).toBeLessThanOrEqual(budgetLeft);
          expect(p.slots).toBeLessThanOrEqual(slotsLeft);
          expect(p.stream).toBeLessThanOrEqual(streamLeft);
          expect(p.slots).toBeLessThanOrEqual(Math.max(1, targetSlots));
          expect(p.stream).toBeLessThanOrEqual(Math.max(need, targetStream));
        },
      ),
      { numRuns: 2000 },
    );
  });
});
