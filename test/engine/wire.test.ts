import { poly1305 } from '@noble/ciphers/_poly1305.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OnepadError } from '../../device/errors.js';
import { encodePackage, parsePackage, verifyAndDecrypt } from '../../device/wire.js';
import packageVectors from '../vectors/package-v1.json' with { type: 'json' };
import polyVectors from '../vectors/poly1305-rfc8439.json' with { type: 'json' };
import { referencePackage, referencePoly1305 } from '../vectors/reference.js';

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

describe('wire format v1 vectors (test/vectors/package-v1.json)', () => {
  const pad = hexToBytes(packageVectors.pad);
  const padId = hexToBytes(packageVectors.padId);
  it.each(packageVectors.vectors)('$name', (v) => {
    const plaintext = hexToBytes(v.plaintext);
    const segment = pad.slice(v.start, v.start + plaintext.length + 32);
    const pkg = encodePackage(v.side as 'A' | 'B', padId, v.start, plaintext, segment);
    expect(bytesToHex(pkg)).toBe(v.package);
    const parsed = parsePackage(hexToBytes(v.package));
    expect(parsed.side).toBe(v.side);
    expect(parsed.start).toBe(v.start);
    expect(parsed.length).toBe(plaintext.length);
    expect(bytesToHex(parsed.padId)).toBe(packageVectors.padId);
    expect(bytesToHex(verifyAndDecrypt(parsed, segment))).toBe(v.plaintext);
  });
});

describe('wire format properties', () => {
  const padArb = fc.uint8Array({ minLength: 400, maxLength: 400 });
  const caseArb = fc.record({
    pad: padArb,
    padId: fc.uint8Array({ minLength: 16, maxLength: 16 }),
    side: fc.constantFrom('A' as const, 'B' as const),
    plaintext: fc.uint8Array({ maxLength: 200 }),
    start: fc.nat(150),
  });

  it('encodes exactly as the reference and round-trips', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const seg = c.pad.slice(c.start, c.start + c.plaintext.length + 32);
        const pkg = encodePackage(c.side, c.padId, c.start, c.plaintext, seg);
        expect(bytesToHex(pkg)).toBe(bytesToHex(referencePackage(c.side, c.padId, c.start, c.plaintext, c.pad)));
        expect(verifyAndDecrypt(parsePackage(pkg), seg)).toEqual(c.plaintext);
      }),
      { numRuns: 200 },
    );
  });

  it('every single-bit flip of a valid package is rejected with a code, never decrypted', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const seg = c.pad.slice(c.start, c.start + c.plaintext.length + 32);
        const pkg = encodePackage(c.side, c.padId, c.start, c.plaintext, seg);
        for (let bit = 0; bit < pkg.length * 8; bit++) {
          const bad = pkg.slice();
          bad[bit >> 3] = (bad[bit >> 3] as number) ^ (1 << (bit & 7));
          let code: string | undefined;
          try {
            const parsed = parsePackage(bad);
            // Header flips that still parse change the authenticated bytes (or the segment): the tag must fail.
            const seg2 = c.pad.slice(parsed.start, parsed.start + parsed.length + 32);
            if (seg2.length !== parsed.length + 32) throw new OnepadError('MALFORMED');
            verifyAndDecrypt(parsed, parsed.start === c.start ? seg : seg2);
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

  it('refuses reserved flag bits and other versions', () => {
    const pkg = hexToBytes(packageVectors.vectors[0]!.package);
    const flags = pkg.slice();
    flags[1] = 0x02;
    expect(() => parsePackage(flags)).toThrow(expect.objectContaining({ code: 'MALFORMED' }));
    const ver = pkg.slice();
    ver[0] = 2;
    expect(() => parsePackage(ver)).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_VERSION' }));
  });
});
