/**
 * The commitments and the fingerprint are computed with node:crypto (OpenSSL); the bytes they hash are those of
 * docs/PAIRING.md. Checked here against a reference written with @noble/hashes straight from the doc's formula.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CommitmentHash, commitment, Transcript } from '../../provisioning/fingerprint.js';

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, false);
  return b;
}

/** SHA-256("onepad commit v1" ‖ padId ‖ index (u32) ‖ side ‖ chunk bytes), from the doc. */
function referenceCommitment(padId: Uint8Array, index: number, side: 'A' | 'B', chunk: Uint8Array): Uint8Array {
  return sha256(concatBytes(utf8ToBytes('onepad commit v1'), padId, u32(index), utf8ToBytes(side), chunk));
}

describe('commitments and fingerprint', () => {
  it('equal the formula of docs/PAIRING.md, for any chunk, index and side, hashed whole or in pieces', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.nat(),
        fc.constantFrom('A' as const, 'B' as const),
        fc.uint8Array({ maxLength: 3000 }),
        fc.array(fc.nat(3000), { maxLength: 5 }),
        (padId, index, side, chunk, cuts) => {
          const want = referenceCommitment(padId, index, side, chunk);
          expect(commitment(padId, index, side, chunk)).toEqual(want);
          const h = new CommitmentHash(padId, index, side);
          let at = 0;
          for (const c of [...cuts.map((x) => Math.min(x, chunk.length))].sort((a, b) => a - b)) {
            h.update(chunk.subarray(at, c));
            at = c;
          }
          h.update(chunk.subarray(at));
          expect(h.digest()).toEqual(want);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('the fingerprint is the doc formula over the transcript, and any changed commitment changes it', () => {
    const padId = new Uint8Array(16).fill(9);
    const commits = [0, 1, 2].map((i) => [sha256(u32(i)), sha256(u32(i + 100))] as const);
    const t = new Transcript(padId, 123_456, 'alice', 'bob');
    for (const [a, b] of commits) t.addChunk(a, b);
    const size = new Uint8Array(8);
    new DataView(size.buffer).setBigUint64(0, 123_456n, false);
    const d = sha256(
      concatBytes(
        utf8ToBytes('onepad fingerprint v1'),
        padId,
        size,
        new Uint8Array([5]),
        utf8ToBytes('alice'),
        new Uint8Array([3]),
        utf8ToBytes('bob'),
        ...commits.flat(),
      ),
    );
    let n = 0n;
    for (const b of d.subarray(0, 9)) n = (n << 8n) | BigInt(b);
    const digits = (n % 10n ** 20n).toString().padStart(20, '0');
    expect(t.fingerprint()).toBe(digits.match(/.{4}/g)!.join(' '));

    const t2 = new Transcript(padId, 123_456, 'alice', 'bob');
    for (const [i, [a, b]] of commits.entries()) t2.addChunk(a, i === 2 ? b.map((x, k) => (k === 0 ? x ^ 1 : x)) : b);
    expect(t2.fingerprint()).not.toBe(t.fingerprint());
  });
});
