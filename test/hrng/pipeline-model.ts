/**
 * A model of what the pool must hold: the extraction (toeplitzReference-checked ToeplitzExtractor) of the
 * healthy stream after the bytes the seed was made from. Tests compare pool.bin with it and check how far into
 * the raw stream the pooled bytes reach.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { dataDirLayout } from '../../device/data-dir.js';
import { loadSeed, seedFromRaw, seedRawBytes } from '../../hrng/seed.js';
import { extractorShape, ToeplitzExtractor } from '../../hrng/toeplitz.js';

/** The pool a single run must produce from `stream` (the combined stream) at claimed H `h`. */
export function modelPool(root: string, stream: Uint8Array, h: number) {
  const shape = extractorShape(h);
  const seedRaw = seedRawBytes(h);
  const seed = loadSeed(join(root, 'hrng-seed.bin'));
  if (!seed) throw new Error('no seed file');
  expectSameBytes(seed, seedFromRaw(stream.subarray(0, seedRaw), h));
  const ex = new ToeplitzExtractor(seed, shape);
  return {
    shape,
    seedRaw,
    /** The first n pool bytes. */
    expected(n: number): Uint8Array {
      const blocks = Math.ceil(n / shape.outBytes);
      const out = new Uint8Array(blocks * shape.outBytes);
      for (let b = 0; b < blocks; b++) {
        const at = seedRaw + b * shape.inBytes;
        ex.extractInto(stream.subarray(at, at + shape.inBytes), out, b * shape.outBytes);
      }
      return out.subarray(0, n);
    },
    /** How many stream bytes the first n pool bytes were derived from (seed included). */
    rawBehind(n: number): number {
      return n === 0 ? 0 : seedRaw + Math.ceil(n / shape.outBytes) * shape.inBytes;
    },
  };
}

/** The pool's live bytes from offset 0 (no wrap in these tests). */
export function poolBytes(root: string, n: number): Uint8Array {
  return new Uint8Array(readFileSync(dataDirLayout(root).pool).subarray(0, n));
}

/**
 * The pool holds exactly the model's first bytes, derived only from stream bytes before `limit`
 * (the fault's onset).
 */
export function expectPoolFrom(root: string, available: number, stream: Uint8Array, h: number, limit: number): void {
  if (available === 0) return;
  const m = modelPool(root, stream, h);
  expect(m.rawBehind(available)).toBeLessThanOrEqual(limit);
  expectSameBytes(poolBytes(root, available), m.expected(available));
}

/** Byte-for-byte equality without vitest's slow deep compare on big arrays; names the first difference. */
export function expectSameBytes(actual: Uint8Array, expected: Uint8Array): void {
  const a = Buffer.from(actual.buffer, actual.byteOffset, actual.length);
  const b = Buffer.from(expected.buffer, expected.byteOffset, expected.length);
  if (a.equals(b)) return;
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  expect({ length: a.length, firstDifference: i }).toEqual({ length: b.length, firstDifference: -1 });
}

/** The first n extractor output bytes of `stream` from `offset`, with the data dir's seed, at claimed H `h`. */
export function extractFrom(root: string, stream: Uint8Array, h: number, offset: number, n: number): Uint8Array {
  const shape = extractorShape(h);
  const seed = loadSeed(join(root, 'hrng-seed.bin'));
  if (!seed) throw new Error('no seed file');
  const ex = new ToeplitzExtractor(seed, shape);
  const blocks = Math.ceil(n / shape.outBytes);
  const out = new Uint8Array(blocks * shape.outBytes);
  for (let b = 0; b < blocks; b++) {
    const at = offset + b * shape.inBytes;
    ex.extractInto(stream.subarray(at, at + shape.inBytes), out, b * shape.outBytes);
  }
  return out.subarray(0, n);
}
