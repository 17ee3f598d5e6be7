/**
 * Wire format v2 of a package (docs/PROTOCOL.md):
 *
 * ```
 * offset  size  field
 * 0       1     version = 2
 * 1       1     flags: bit0 = sender side (0 = A, 1 = B); other bits 0
 * 2       16    pad id
 * 18      4     message index i, u32 big-endian: the sender's key slot i is this message's MAC key
 * 22      8     stream start s, u64 big-endian: the key stream is pad[s .. s+L), inside the sender's stream area
 * 30      4     L, u32 big-endian
 * 34      L     ciphertext = plaintext XOR pad[s .. s+L)
 * 34+L    16    tag = Poly1305(key = key slot i (32 pad bytes), message = bytes [0 .. 34+L))
 * ```
 *
 * A message costs L+32 pad bytes: one 32-byte key slot from the sender's key area and L bytes from its disjoint
 * stream area (device/layout.ts). This module only encodes and parses; it never sees the ledger, so it cannot
 * check that the index and the stream range belong where they claim: the engine does, before any pad byte is read.
 */
import { poly1305 } from '@noble/ciphers/_poly1305.js';
import { equalBytes } from '@noble/ciphers/utils.js';
import { OnepadError } from './errors.js';

export const WIRE_VERSION = 2;
export const HEADER_LENGTH = 34;
export const TAG_LENGTH = 16;
export const MAC_KEY_LENGTH = 32;
export const PAD_ID_LENGTH = 16;
/** Pad bytes a message of L plaintext bytes costs beyond L: its key slot. */
export const SEGMENT_OVERHEAD = MAC_KEY_LENGTH;
/** Bytes a package adds to its plaintext. */
export const PACKAGE_OVERHEAD = HEADER_LENGTH + TAG_LENGTH;
/** The largest L the format can carry (u32). */
export const MAX_WIRE_LENGTH = 0xffff_ffff;
/** The largest message index the format can carry (u32). */
export const MAX_WIRE_INDEX = 0xffff_ffff;

/** Which region of the pad a device consumes: A's is the lower half, B's the upper half. */
export type Side = 'A' | 'B';

/** The parsed, not yet authenticated, header of a package. */
export interface PackageHeader {
  readonly version: number;
  readonly side: Side;
  readonly padId: Uint8Array;
  /** Message index i: the sender's key slot i is the MAC key. */
  readonly index: number;
  /** Stream start: pad offset of the first of the L key stream bytes. */
  readonly streamStart: number;
  /** Plaintext length L. */
  readonly length: number;
}

/** A parsed package: header, ciphertext and tag, as views into the input bytes. */
export interface ParsedPackage extends PackageHeader {
  /** Bytes [0 .. 34+L): everything the tag covers. */
  readonly authenticated: Uint8Array;
  readonly ciphertext: Uint8Array;
  readonly tag: Uint8Array;
}

/** Pad bytes a message of `length` plaintext bytes costs (key slot + key stream). */
export function segmentCost(length: number): number {
  return length + SEGMENT_OVERHEAD;
}

function writeHeader(
  out: Uint8Array,
  side: Side,
  padId: Uint8Array,
  index: number,
  streamStart: number,
  length: number,
): void {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  out[0] = WIRE_VERSION;
  out[1] = side === 'B' ? 1 : 0;
  out.set(padId, 2);
  view.setUint32(18, index, false);
  view.setBigUint64(22, BigInt(streamStart), false);
  view.setUint32(30, length, false);
}

/**
 * Build a package. Pure: takes the message's key slot and key stream, read by the caller from the pad.
 *
 * @param side - the sender's side
 * @param padId - 16-byte pad id
 * @param index - the message index i (the key slot the caller read `key` from)
 * @param streamStart - pad offset the caller read `stream` from
 * @param plaintext - L bytes
 * @param key - the 32 bytes of key slot i. Not modified; caller zeroes it.
 * @param stream - exactly L key stream bytes. Not modified; caller zeroes it.
 * @returns the package bytes (34 + L + 16)
 * @throws RangeError when an argument has the wrong size (a programming error, never user input)
 */
export function encodePackage(
  side: Side,
  padId: Uint8Array,
  index: number,
  streamStart: number,
  plaintext: Uint8Array,
  key: Uint8Array,
  stream: Uint8Array,
): Uint8Array {
  const length = plaintext.length;
  if (padId.length !== PAD_ID_LENGTH) throw new RangeError('padId must be 16 bytes');
  if (!Number.isSafeInteger(index) || index < 0 || index > MAX_WIRE_INDEX) throw new RangeError('index out of range');
  if (!Number.isSafeInteger(streamStart) || streamStart < 0) {
    throw new RangeError('streamStart must be a non-negative safe integer');
  }
  if (length > MAX_WIRE_LENGTH) throw new RangeError('plaintext is longer than the format allows');
  if (key.length !== MAC_KEY_LENGTH) throw new RangeError('key must be 32 bytes');
  if (stream.length !== length) throw new RangeError('stream must be L bytes');
  const out = new Uint8Array(HEADER_LENGTH + length + TAG_LENGTH);
  writeHeader(out, side, padId, index, streamStart, length);
  for (let i = 0; i < length; i++) {
    out[HEADER_LENGTH + i] = (plaintext[i] as number) ^ (stream[i] as number);
  }
  const tag = poly1305(out.subarray(0, HEADER_LENGTH + length), key);
  out.set(tag, HEADER_LENGTH + length);
  tag.fill(0);
  return out;
}

/** The version byte of a package, or undefined for an empty input; for callers that route by version. */
export function packageVersion(bytes: Uint8Array): number | undefined {
  return bytes[0];
}

/**
 * Parse a package's structure. Does not authenticate: nothing parsed here may change state until
 * {@link verifyAndDecrypt} has checked the tag.
 *
 * @throws OnepadError MALFORMED (shorter than a header, too short, length field disagrees with size, reserved flag
 *   bits set, L = 0, stream start beyond 2^53) or UNSUPPORTED_VERSION (any version byte but 2, v1 included)
 */
export function parsePackage(bytes: Uint8Array): ParsedPackage {
  if (!(bytes instanceof Uint8Array)) throw new OnepadError('MALFORMED', { reason: 'not bytes' });
  // Shorter than a header is too short whatever its version (a v1 package is at least 46 bytes, so every v1
  // package still reaches the version check below).
  if (bytes.length < HEADER_LENGTH) {
    throw new OnepadError('MALFORMED', { reason: 'too short', size: bytes.length }, 'too short');
  }
  const version = bytes[0] as number;
  if (version !== WIRE_VERSION) throw new OnepadError('UNSUPPORTED_VERSION', { version });
  if (bytes.length < PACKAGE_OVERHEAD + 1) {
    throw new OnepadError('MALFORMED', { reason: 'too short', size: bytes.length }, 'too short');
  }
  const flags = bytes[1] as number;
  if ((flags & 0xfe) !== 0) throw new OnepadError('MALFORMED', { reason: 'reserved flags set' }, 'reserved flags');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const index = view.getUint32(18, false);
  const start64 = view.getBigUint64(22, false);
  if (start64 > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new OnepadError('MALFORMED', { reason: 'stream start out of range' }, 'stream start');
  }
  const length = view.getUint32(30, false);
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
    index,
    streamStart: Number(start64),
    length,
    authenticated: bytes.subarray(0, HEADER_LENGTH + length),
    ciphertext: bytes.subarray(HEADER_LENGTH, HEADER_LENGTH + length),
    tag: bytes.subarray(HEADER_LENGTH + length),
  };
}

/**
 * Check a parsed package's tag against its key slot and, only if it verifies, decrypt. The tag is compared in
 * constant time.
 *
 * @param pkg - from {@link parsePackage}
 * @param key - the 32 bytes of the sender's key slot `pkg.index`. Not modified; caller zeroes it.
 * @param stream - the L pad bytes at `pkg.streamStart`. Not modified; caller zeroes it.
 * @returns the plaintext (a new array the caller owns)
 * @throws OnepadError MAC_INVALID when the tag does not verify (nothing is decrypted then)
 * @throws RangeError when the key or stream has the wrong size (a programming error)
 */
export function verifyAndDecrypt(pkg: ParsedPackage, key: Uint8Array, stream: Uint8Array): Uint8Array {
  if (key.length !== MAC_KEY_LENGTH) throw new RangeError('key must be 32 bytes');
  if (stream.length !== pkg.length) throw new RangeError('stream must be L bytes');
  const expected = poly1305(pkg.authenticated, key);
  const ok = equalBytes(expected, pkg.tag);
  expected.fill(0);
  if (!ok) throw new OnepadError('MAC_INVALID');
  const plaintext = new Uint8Array(pkg.length);
  for (let i = 0; i < pkg.length; i++) {
    plaintext[i] = (pkg.ciphertext[i] as number) ^ (stream[i] as number);
  }
  return plaintext;
}
