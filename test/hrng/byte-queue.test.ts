import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ByteQueue } from '../../hrng/byte-queue.js';

describe('ByteQueue', () => {
  it('copies and XORs exactly like a plain reference, at any offsets and chunkings (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { minLength: 1, maxLength: 8 }),
        fc.uint8Array({ minLength: 0, maxLength: 2400 }),
        fc.integer({ min: 0, max: 7 }),
        fc.array(fc.integer({ min: 1, max: 200 }), { minLength: 1, maxLength: 10 }),
        (chunks, base, shift, takes) => {
          const all = Uint8Array.from(chunks.flatMap((c) => [...c]));
          const q = new ByteQueue();
          for (const c of chunks) q.push(c.slice());
          const target = new Uint8Array(base.length + shift + all.length).fill(0);
          target.set(base, shift);
          const want = target.slice();
          let pos = 0;
          let i = 0;
          while (pos < all.length) {
            const k = Math.min(takes[i % takes.length] as number, all.length - pos);
            const xor = i % 2 === 1;
            q.drainInto(target.subarray(shift + pos, shift + pos + k), xor);
            for (let j = 0; j < k; j++) {
              const w = want[shift + pos + j] as number;
              want[shift + pos + j] = xor ? w ^ (all[pos + j] as number) : (all[pos + j] as number);
            }
            pos += k;
            i++;
          }
          expect(target).toEqual(want);
          expect(q.length).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('zeroes what it drained and refuses to drain more than it holds', () => {
    const q = new ByteQueue();
    const chunk = Uint8Array.from({ length: 100 }, (_, i) => i + 1);
    q.push(chunk);
    q.drainInto(new Uint8Array(100), false);
    expect(chunk.every((b) => b === 0)).toBe(true);
    q.push(new Uint8Array(3));
    expect(() => q.drainInto(new Uint8Array(4), false)).toThrow(RangeError);
    expect(q.clear()).toBe(3);
  });

  it('take(n): hands over a whole head chunk without a copy, else moves the bytes out (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 50 }), { minLength: 1, maxLength: 12 }),
        fc.array(fc.integer({ min: 1, max: 60 }), { minLength: 1, maxLength: 20 }),
        (chunks, takes) => {
          const q = new ByteQueue();
          const all = Uint8Array.from(chunks.flatMap((c) => [...c]));
          const pushed = chunks.map((c) => Uint8Array.from(c));
          for (const c of pushed) q.push(c);
          let pos = 0;
          for (const t of takes) {
            if (pos >= all.length) break;
            const k = Math.min(t, all.length - pos);
            const got = q.take(k);
            expect([...got]).toEqual([...all.subarray(pos, pos + k)]);
            pos += k;
            expect(q.length).toBe(all.length - pos);
          }
        },
      ),
      { numRuns: 300 },
    );
    const q = new ByteQueue();
    const a = Uint8Array.from([1, 2, 3]);
    const b = Uint8Array.from([4, 5]);
    const d = Uint8Array.from([6]);
    q.push(a);
    q.push(b);
    expect(q.take(3)).toBe(a); // exactly the head chunk: the chunk itself
    q.push(d);
    const c = q.take(3); // across chunks: copied out
    expect([...c]).toEqual([4, 5, 6]);
    expect([...b, ...d]).toEqual([0, 0, 0]); // zeroed behind
    expect(q.length).toBe(0);
    expect(() => q.take(1)).toThrow(RangeError);
  });
});
