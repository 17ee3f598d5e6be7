/**
 * The seeded stream past 256 GiB: a 64-bit block counter instead of RFC 8439's 32-bit one overflowing. Checked
 * against @noble/ciphers below the boundary, and against a tiny reference ChaCha20 block function (RFC 8439 §2.3,
 * itself checked with the RFC's block test vector) for blocks on both sides of it, which noble refuses to make.
 */
import { chacha20 } from '@noble/ciphers/chacha.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fillSeeded, seededKey } from '../../device/seeded.js';

/** RFC 8439 §2.3: one 64-byte block for key, counter (word 12) and nonce words 13-15. */
function referenceBlock(key: Uint8Array, counter: number, nonce: [number, number, number]): Uint8Array {
  const k = new DataView(key.buffer, key.byteOffset, 32);
  const init = [
    0x61707865,
    0x3320646e,
    0x79622d32,
    0x6b206574,
    ...Array.from({ length: 8 }, (_, i) => k.getUint32(i * 4, true)),
    counter >>> 0,
    ...nonce,
  ];
  const x = init.slice();
  const rotl = (v: number, c: number) => ((v << c) | (v >>> (32 - c))) >>> 0;
  const qr = (a: number, b: number, c: number, d: number) => {
    x[a] = (x[a]! + x[b]!) >>> 0;
    x[d] = rotl(x[d]! ^ x[a]!, 16);
    x[c] = (x[c]! + x[d]!) >>> 0;
    x[b] = rotl(x[b]! ^ x[c]!, 12);
    x[a] = (x[a]! + x[b]!) >>> 0;
    x[d] = rotl(x[d]! ^ x[a]!, 8);
    x[c] = (x[c]! + x[d]!) >>> 0;
    x[b] = rotl(x[b]! ^ x[c]!, 7);
  };
  for (let i = 0; i < 10; i++) {
    qr(0, 4, 8, 12);
    qr(1, 5, 9, 13);
    qr(2, 6, 10, 14);
    qr(3, 7, 11, 15);
    qr(0, 5, 10, 15);
    qr(1, 6, 11, 12);
    qr(2, 7, 8, 13);
    qr(3, 4, 9, 14);
  }
  const out = new Uint8Array(64);
  const v = new DataView(out.buffer);
  for (let i = 0; i < 16; i++) v.setUint32(i * 4, (x[i]! + init[i]!) >>> 0, true);
  return out;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('seeded stream', () => {
  it('the reference block function gives RFC 8439 §2.3.2 test vector', () => {
    const key = Uint8Array.from({ length: 32 }, (_, i) => i);
    const block = referenceBlock(key, 1, [0x09000000, 0x4a000000, 0x00000000]);
    expect(hex(block)).toBe(
      '10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4e' +
        'd2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e',
    );
  });

  it('below 256 GiB it is RFC 8439 ChaCha20 with nonce 0 (as @noble/ciphers makes it), at any offset', () => {
    fc.assert(
      fc.property(fc.string(), fc.nat(2 ** 31), fc.nat(700), (seed, block, len) => {
        const key = seededKey(seed);
        const out = new Uint8Array(len);
        fillSeeded(key, out, block * 64);
        expect(hex(out)).toBe(hex(chacha20(key, new Uint8Array(12), new Uint8Array(len), undefined, block)));
      }),
      { numRuns: 100 },
    );
  });

  it('crosses 256 GiB: block 2^32 - 1 with nonce 0, then block 2^32 continues under nonce word 1, counter 0', () => {
    const key = seededKey('lifetime');
    const boundary = 2 ** 38; // 2^32 blocks of 64 bytes
    const out = new Uint8Array(64 * 4);
    fillSeeded(key, out, boundary - 128);
    const want = [
      referenceBlock(key, 2 ** 32 - 2, [0, 0, 0]),
      referenceBlock(key, 2 ** 32 - 1, [0, 0, 0]),
      referenceBlock(key, 0, [1, 0, 0]),
      referenceBlock(key, 1, [1, 0, 0]),
    ];
    expect(hex(out)).toBe(want.map(hex).join(''));
    // The same bytes whichever way the range is cut, and no repeat of the stream's start.
    const right = new Uint8Array(100);
    fillSeeded(key, right, boundary);
    expect(hex(right)).toBe(hex(out.subarray(128, 228)));
    const start = new Uint8Array(64);
    fillSeeded(key, start, 0);
    expect(hex(right.subarray(0, 64))).not.toBe(hex(start));
    // Far past it: 1 TiB and beyond, the segment nonce keeps counting.
    const far = new Uint8Array(64);
    fillSeeded(key, far, 5 * boundary + 64 * 7);
    expect(hex(far)).toBe(hex(referenceBlock(key, 7, [5, 0, 0])));
  });

  it('refuses offsets that are not block multiples or not safe integers', () => {
    const key = seededKey('x');
    expect(() => fillSeeded(key, new Uint8Array(1), 1)).toThrow(RangeError);
    expect(() => fillSeeded(key, new Uint8Array(1), -64)).toThrow(RangeError);
    expect(() => fillSeeded(key, new Uint8Array(64), 2 ** 53)).toThrow(RangeError);
  });
});
