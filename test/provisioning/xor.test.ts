import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { xorInto } from '../../provisioning/protocol.js';

describe('xorInto', () => {
  it('equals the byte-by-byte XOR for any lengths and alignments', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 200 }),
        fc.uint8Array({ maxLength: 200 }),
        fc.nat(7),
        fc.nat(7),
        (x, y, oa, ob) => {
          const n = Math.min(x.length, y.length);
          const a = new Uint8Array(n + oa).subarray(oa);
          a.set(x.subarray(0, n));
          const b = new Uint8Array(n + ob).subarray(ob);
          b.set(y.subarray(0, n));
          const want = Uint8Array.from(a, (v, i) => v ^ (b[i] as number));
          xorInto(a, b);
          expect(a).toEqual(want);
        },
      ),
      { numRuns: 500 },
    );
  });
});
