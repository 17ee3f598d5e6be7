import { poly1305 } from '@noble/ciphers/_poly1305.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OnepadError } from '../../device/errors.js';
import { keySlot, sideAreas } from '../../device/layout.js';
import { containsZeroBlock } from '../../device/pad-file.js';
import { encodePackage, parsePackage, verifyAndDecrypt } from '../../device/wire.js';
import packageVectors from '../vectors/package-v2.json' with { type: 'json' };
import polyVectors from '../vectors/poly1305-rfc8439.json' with { type: 'json' };
import { referenceKeySlot, referencePackage, referencePoly1305 } from '../vectors/reference.js';

describe('Poly1305 against RFC 8439', () => {
  it.each(polyVectors.vectors)('$name: @noble/ciphers and the reference agree with the RFC', (v) => {
    const key = hexToBytes(v.key);
    const msg = hexToBytes(v.msg);
    expect(bytesToHex(poly1305(msg, key))).toBe(v.tag);
    expect(bytesToHex(referencePoly1305(msg, key))).toBe(v.tag);
  });

  it('the reference agrees with @noble/ciphers on random inputs', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 300 }), (key, msg) => {
        expect(bytesToHex(referencePoly1305(msg, key))).toBe(bytesToHex(poly1305(msg, key)));
      }),
      { numRuns: 300 },
    );
  });
});

describe('wire format v2 vectors (test/vectors/package-v2.json)', () => {
  const pad = hexToBytes(packageVectors.pad);
  const padId = hexToBytes(packageVectors.padId);
  const layout = packageVectors.layout;
  it("the vectors' layout is the one device/layout.ts computes areas for", () => {
    expect(sideAreas(layout, 'A')).toEqual({ keys: { start: 0, end: 96 }, slots: 3, stream: { start: 96, end: 256 } });
    expect(sideAreas(layout, 'B')).toEqual({
      keys: { start: 448, end: 512 },
      slots: 2,
      stream: { start: 256, end: 448 },
    });
  });
  it.each(packageVectors.vectors)('$name', (v) => {
    const side = v.side as 'A' | 'B';
    const plaintext = hexToBytes(v.plaintext);
    const k = keySlot(sideAreas(layout, side), v.index);
    expect(k.start).toBe(referenceKeySlot(layout, side, v.index));
    const key = pad.slice(k.start, k.end);
    const stream = pad.slice(v.streamStart, v.streamStart + plaintext.length);
    const pkg = encodePackage(side, padId, v.index, v.streamStart, plaintext, key, stream);
    expect(bytesToHex(pkg)).toBe(v.package);
    const parsed = parsePackage(hexToBytes(v.package));
    expect(parsed).toMatchObject({ version: 2, side, index: v.index, streamStart: v.streamStart });
    expect(parsed.length).toBe(plaintext.length);
    expect(bytesToHex(parsed.padId)).toBe(packageVectors.padId);
    expect(bytesToHex(verifyAndDecrypt(parsed, key, stream))).toBe(v.plaintext);
  });
});

describe('wire format properties', () => {
  const layout = { size: 400, split: 200, keySlotsA: 2, keySlotsB: 3 };
  const caseArb = fc.record({
    pad: fc.uint8Array({ minLength: 400, maxLength: 400 }),
    padId: fc.uint8Array({ minLength: 16, maxLength: 16 }),
    side: fc.constantFrom('A' as const, 'B' as const),
    plaintext: fc.uint8Array({ minLength: 1, maxLength: 80 }),
    index: fc.nat(1),
    offset: fc.nat(50),
  });
  const bytesOf = (c: { pad: Uint8Array; side: 'A' | 'B'; index: number; offset: number; plaintext: Uint8Array }) => {
    const areas = sideAreas(layout, c.side);
    const k = keySlot(areas, c.index);
    const streamStart = areas.stream.start + c.offset;
    return {
      streamStart,
      key: c.pad.slice(k.start, k.end),
      stream: c.pad.slice(streamStart, streamStart + c.plaintext.length),
    };
  };

  it('encodes exactly as the reference and round-trips', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const { streamStart, key, stream } = bytesOf(c);
        const pkg = encodePackage(c.side, c.padId, c.index, streamStart, c.plaintext, key, stream);
        expect(bytesToHex(pkg)).toBe(
          bytesToHex(referencePackage(layout, c.side, c.padId, c.index, streamStart, c.plaintext, c.pad)),
        );
        expect(pkg.length).toBe(c.plaintext.length + 50);
        expect(verifyAndDecrypt(parsePackage(pkg), key, stream)).toEqual(c.plaintext);
      }),
      { numRuns: 200 },
    );
  });

  it('every single-bit flip of a valid package is rejected with a code, never decrypted', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const { streamStart, key, stream } = bytesOf(c);
        const pkg = encodePackage(c.side, c.padId, c.index, streamStart, c.plaintext, key, stream);
        for (let bit = 0; bit < pkg.length * 8; bit++) {
          const bad = pkg.slice();
          bad[bit >> 3] = (bad[bit >> 3] as number) ^ (1 << (bit & 7));
          let code: string | undefined;
          try {
            const parsed = parsePackage(bad);
            // Header flips that still parse change the authenticated bytes: the tag under the claimed key must fail.
            const k2 = keySlot(sideAreas(layout, parsed.side), Math.min(parsed.index, 1));
            const s2 = c.pad.slice(parsed.streamStart, parsed.streamStart + parsed.length);
            if (s2.length !== parsed.length) throw new OnepadError('MALFORMED');
            verifyAndDecrypt(parsed, c.pad.slice(k2.start, k2.end), s2);
          } catch (e) {
            code = (e as OnepadError).code;
          }
          expect(['MAC_INVALID', 'MALFORMED', 'UNSUPPORTED_VERSION']).toContain(code);
        }
      }),
      { numRuns: 15 },
    );
  });

  it('random bytes and truncations only ever give coded errors', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), (bytes) => {
        try {
          parsePackage(bytes);
        } catch (e) {
          expect(e).toBeInstanceOf(OnepadError);
          expect(['MALFORMED', 'UNSUPPORTED_VERSION']).toContain((e as OnepadError).code);
        }
      }),
      { numRuns: 2000 },
    );
    const v = packageVectors.vectors[0]!;
    const pkg = hexToBytes(v.package);
    for (let n = 0; n < pkg.length; n++) {
      expect(() => parsePackage(pkg.subarray(0, n))).toThrow(OnepadError);
    }
  });

  it('refuses reserved flag bits, an empty message, v1 and every other version', () => {
    const pkg = hexToBytes(packageVectors.vectors[0]!.package);
    const flags = pkg.slice();
    flags[1] = 0x02;
    expect(() => parsePackage(flags)).toThrow(expect.objectContaining({ code: 'MALFORMED' }));
    const empty = new Uint8Array(50);
    empty[0] = 2;
    expect(() => parsePackage(empty)).toThrow(expect.objectContaining({ code: 'MALFORMED' }));
    for (const version of [0, 1, 3, 255]) {
      const ver = pkg.slice();
      ver[0] = version;
      expect(() => parsePackage(ver)).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_VERSION' }));
    }
    // A well-formed v1 package (docs of v1: 30-byte header, 16-byte tag) is refused by version, not parsed.
    const v1 = new Uint8Array(46 + 9);
    v1[0] = 1;
    new DataView(v1.buffer).setUint32(26, 9, false);
    expect(() => parsePackage(v1)).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_VERSION' }));
  });

  it('finds zero blocks only where burned bytes are', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 200 }), fc.nat(), (bytes, at) => {
        // Bytes with no zero run of 16 never count as burned; zeroing any 16 consecutive bytes, at any offset, does.
        const noZero = bytes.map((b, i) => (i % 15 === 0 ? 0 : b | 1));
        expect(containsZeroBlock(noZero)).toBe(false);
        const burned = noZero.slice();
        const start = Math.min(at % burned.length, burned.length - 16);
        burned.fill(0, start, start + 16);
        expect(containsZeroBlock(burned)).toBe(true);
        const almost = noZero.slice();
        almost.fill(0, start, start + 15);
        almost[start + 15] = 1;
        if (start > 0) almost[start - 1] = 1;
        expect(containsZeroBlock(almost)).toBe(false);
      }),
      { numRuns: 500 },
    );
    expect(containsZeroBlock(new Uint8Array(15))).toBe(false);
  });

  it('agrees with a byte-by-byte reference on bytes made of zero runs of every length at every offset', () => {
    const reference = (b: Uint8Array) => {
      let run = 0;
      for (const x of b) {
        run = x === 0 ? run + 1 : 0;
        if (run >= 16) return true;
      }
      return false;
    };
    const piece = fc.oneof(
      fc.integer({ min: 0, max: 40 }).map((n) => new Uint8Array(n)),
      fc.uint8Array({ minLength: 1, maxLength: 9 }).map((b) => b.map((x) => x | 1)),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 40 }), fc.nat({ max: 7 }), (pieces, shift) => {
        const bytes = new Uint8Array(shift + pieces.reduce((n, p) => n + p.length, 0)).fill(1);
        let at = shift;
        for (const p of pieces) {
          bytes.set(p, at);
          at += p.length;
        }
        // also as an unaligned view into a larger buffer
        const view = new Uint8Array(bytes.length + 3).fill(0).subarray(3);
        view.set(bytes);
        expect(containsZeroBlock(bytes)).toBe(reference(bytes));
        expect(containsZeroBlock(view)).toBe(reference(view));
      }),
      { numRuns: 3000 },
    );
  });
});
