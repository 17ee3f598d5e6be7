import { describe, expect, it } from 'vitest';
import { FIPS_BLOCK_BYTES, FipsMonitor, fipsTestBlock } from '../../hrng/fips.js';
import { SimStream } from '../../hrng/sim-source.js';

describe('FIPS 140-2 block tests (secondary monitor)', () => {
  it('a keystream block passes all four', () => {
    const v = fipsTestBlock(new SimStream('fips').next(FIPS_BLOCK_BYTES));
    expect(v).toEqual({ monobit: true, poker: true, runs: true, longRun: true });
  });

  it('all zeros fails monobit, poker, runs and long run', () => {
    expect(fipsTestBlock(new Uint8Array(FIPS_BLOCK_BYTES))).toEqual({
      monobit: false,
      poker: false,
      runs: false,
      longRun: false,
    });
  });

  it('0x55 repeated is balanced but fails poker and runs', () => {
    const v = fipsTestBlock(new Uint8Array(FIPS_BLOCK_BYTES).fill(0x55));
    // 10000 ones: monobit passes; one nibble value only: poker fails; 20000 runs of length 1: runs fails.
    expect(v).toEqual({ monobit: true, poker: false, runs: false, longRun: true });
  });

  it('a single long run of 26 bits fails only the long-run test', () => {
    const b = new SimStream('long').next(FIPS_BLOCK_BYTES);
    b.set([0x00, 0x00, 0x00, 0x00], 1000); // 32 zero bits, bounded by whatever is around
    const v = fipsTestBlock(b);
    expect(v.longRun).toBe(false);
    expect(v.monobit).toBe(true);
  });

  it('the monitor counts blocks across arbitrary chunking', () => {
    const m = new FipsMonitor();
    const s = new SimStream('mon');
    m.feed(s.next(1000));
    m.feed(s.next(4100));
    expect(m.blocks).toBe(2);
    m.feed(new Uint8Array(2400));
    expect(m.blocks).toBe(3);
    expect(m.blocksFailed).toBe(1);
    expect(m.failures.monobit).toBe(1);
  });

  it('rejects a block of the wrong size', () => {
    expect(() => fipsTestBlock(new Uint8Array(10))).toThrow(RangeError);
  });
});

describe('table-driven FIPS tests against the bit-by-bit reference', () => {
  it('agree on random and structured blocks (property)', async () => {
    const fc = (await import('fast-check')).default;
    const { fipsTestBlockReference } = await import('../../hrng/fips.js');
    const base = new SimStream('ref').next(FIPS_BLOCK_BYTES);
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            at: fc.integer({ min: 0, max: 2499 }),
            len: fc.integer({ min: 1, max: 40 }),
            v: fc.integer({ min: 0, max: 255 }),
          }),
          { maxLength: 30 },
        ),
        (patches) => {
          const b = base.slice();
          for (const p of patches) b.fill(p.v, p.at, Math.min(FIPS_BLOCK_BYTES, p.at + p.len));
          expect(fipsTestBlock(b)).toEqual(fipsTestBlockReference(b));
        },
      ),
      { numRuns: 200 },
    );
    for (const v of [0, 0xff, 0x55, 0x0f, 0x80, 0x01]) {
      const b = new Uint8Array(FIPS_BLOCK_BYTES).fill(v);
      expect(fipsTestBlock(b)).toEqual(fipsTestBlockReference(b));
    }
  });
});
