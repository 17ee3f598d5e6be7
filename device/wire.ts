/**
 * Wire format v1 of a package (docs/PROTOCOL.md):
 *
 * ```
 * offset  size  field
 * 0       1     version = 1
 * 1       1     flags: bit0 = sender side (0 = A, 1 = B); other bits 0
 * 2       16    pad id
 * 18      8     segment start s, u64 big-endian
 * 26      4     L, u32 big-endian
 * 30      L     ciphertext = plaintext XOR pad[s+32 .. s+32+L)
 * 30+L    16    tag = Poly1305(key = pad[s .. s+32), message = bytes [0 .. 30+L))
 * ```
 *
 * This module only encodes and parses; it never sees the ledger. Segment bytes are the L+32 pad bytes
 * starting at `s`: the first 32 are the one-time MAC key, the rest the XOR key stream.
 */
import { poly1305 } from '@noble/ciphers/_poly1305.js';
import { equalBytes } from '@noble/ciphers/utils.js';
import { OnepadError } from './errors.js';

export const WIRE_VERSION = 1;
export const HEADER_LENGTH = 30;
export const TAG_LENGTH = 16;
export const MAC_KEY_LENGTH = 32;
export const PAD_ID_LENGTH = 16;
/** Pad bytes a message of L plaintext bytes costs beyond L. */
export const SEGMENT_OVERHEAD = MAC_KEY_LENGTH;
/** Bytes a package adds to its plaintext. */
export const PACKAGE_OVERHEAD = HEADER_LENGTH + TAG_LENGTH;
/** The largest L the format can carry (u32). */
export const MAX_WIRE_LENGTH = 0xffff_ffff;

/** Which half of the pad a device consumes: A forward from 0, B backward from the end. */
export type Side = 'A' | 'B';

/** The parsed, not yet authenticated, header of a package. */
export interface PackageHeader {
  readonly version: number;
  readonly side: Side;
  readonly padId: Uint8Array;
  /** Segment start: index of the first pad byte of this message's L+32-byte segment. */
  readonly start: number;
  /** Plaintext length L. */
  readonly length: number;
}

/** A parsed package: header, ciphertext and tag, as views into the input bytes. */
export interface ParsedPackage extends PackageHeader {
  /** Bytes [0 .. 30+L): everything the tag covers. */
  readonly authenticated: Uint8Array;
  readonly ciphertext: Uint8Array;
  readonly tag: Uint8Array;
}

/** Pad bytes a message of `length` plaintext bytes costs. */
export function segmentCost(length: number): number {
  return length + SEGMENT_OVERHEAD;
}

function writeHeader(out: Uint8Array, side: Side, padId: Uint8Array, start: number, length: number): void {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  out[0] = WIRE_VERSION;
  out[1] = side === 'B' ? 1 : 0;
  out.set(padId, 2);
  view.setBigUint64(18, BigInt(start), false);
  view.setUint32(26, length, false);
}

/**
 * Build a package. Pure: takes the message's pad segment (L+32 bytes read from pad offset `start`).
 *
 * @param side - the sender's side
 * @param padId - 16-byte pad id
 * @param start - segment start offset in the pad
 * @param plaintext - L bytes
 * @param segment - exactly L+32 pad bytes: MAC key then XOR key stream. Not modified; caller zeroes it.
 * @returns the package bytes (30 + L + 16)
 * @throws RangeError when an argument has the wrong size (a programming error, never user input)
 */
export function encodePackage(
  side: Side,
  padId: Uint8Array,
  start: number,
  plaintext: Uint8Array,
  segment: Uint8Array,
): Uint8Array {
  const length = plaintext.length;
  if (padId.length !== PAD_ID_LENGTH) throw new RangeError('padId must be 16 bytes');
  if (!Number.isSafeInteger(start) || start < 0) throw new RangeError('start must be a non-negative safe integer');
  if (length > MAX_WIRE_LENGTH) throw new RangeError('plaintext is longer than the format allows');
  if (segment.length !== segmentCost(length)) throw new RangeError('segment must be L+32 bytes');
  const out = new Uint8Array(HEADER_LENGTH + length + TAG_LENGTH);
  writeHeader(out, side, padId, start, length);
  for (let i = 0; i < length; i++) {
    out[HEADER_LENGTH + i] = (plaintext[i] as number) ^ (segment[MAC_KEY_LENGTH + i] as number);
  }
  const key = segment.subarray(0, MAC_KEY_LENGTH);
  const tag = poly1305(out.subarray(0, HEADER_LENGTH + length), key);
  out.set(tag, HEADER_LENGTH + length);
  tag.fill(0);
  return out;
}

/**
 * Parse a package's structure. Does not authenticate: nothing parsed here may change state until
 * {@link verifyAndDecrypt} has checked the tag.
 *
 * @throws OnepadError MALFORMED (too short, length field disagrees with size, reserved flag bits set,
 *   segment start beyond 2^53) or UNSUPPORTED_VERSION
 */
export function parsePackage(bytes: Uint8Array): ParsedPackage {
  if (!(bytes instanceof Uint8Array)) throw new OnepadError('MALFORMED', { reason: 'not bytes' });
  if (bytes.length < PACKAGE_OVERHEAD) {
    throw new OnepadError('MALFORMED', { reason: 'too short', size: bytes.length }, 'too short');
  }
  const version = bytes[0] as number;
  if (version !== WIRE_VERSION) throw new OnepadError('UNSUPPORTED_VERSION', { version });
  const flags = bytes[1] as number;
  if ((flags & 0xfe) !== 0) throw new OnepadError('MALFORMED', { reason: 'reserved flags set' }, 'reserved flags');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const start64 = view.getBigUint64(18, false);
  if (start64 > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new OnepadError('MALFORMED', { reason: 'segment start out of range' }, 'segment start');
  }
  const length = view.getUint32(26, false);
  if (bytes.length !== PACKAGE_OVERHEAD + length) {
    throw new OnepadError(
      'MALFORMED',
      { reason: 'length mismatch', size: bytes.length, declared: length },
      'length field disagrees with size',
    );
  }
  return {
    version,
    side: (flags & 1) === 1 ? 'B' : 'A',
    padId: bytes.subarray(2, 2 + PAD_ID_LENGTH),
    start: Number(start64),
    length,
    authenticated: bytes.subarray(0, HEADER_LENGTH + length),
    ciphertext: bytes.subarray(HEADER_LENGTH, HEADER_LENGTH + length),
    tag: bytes.subarray(HEADER_LENGTH + length),
  };
}

/**
 * Check a parsed package's tag against its pad segment and, only if it verifies, decrypt.
 * The tag is compared in constant time.
 *
 * @param pkg - from {@link parsePackage}
 * @param segment - the L+32 pad bytes at `pkg.start`. Not modified; caller zeroes it.
 * @returns the plaintext (a new array the caller owns)
 * @throws OnepadError MAC_INVALID when the tag does not verify (nothing is decrypted then)
 * @throws RangeError when the segment has the wrong size (a programming error)
 */
export function verifyAndDecrypt(pkg: ParsedPackage, segment: Uint8Array): Uint8Array {
  if (segment.length !== segmentCost(pkg.length)) throw new RangeError('segment must be L+32 bytes');
  const expected = poly1305(pkg.authenticated, segment.subarray(0, MAC_KEY_LENGTH));
  const ok = equalBytes(expected, pkg.tag);
  expected.fill(0);
  if (!ok) throw new OnepadError('MAC_INVALID');
  const plaintext = new Uint8Array(pkg.length);
  for (let i = 0; i < pkg.length; i++) {
    plaintext[i] = (pkg.ciphertext[i] as number) ^ (segment[MAC_KEY_LENGTH + i] as number);
  }
  return plaintext;
}
