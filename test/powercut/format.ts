/**
 * The one wire-format-specific part of the power-cut checks: which pad bytes a package uses. Everything else
 * goes through the engine's public API and device/wire.ts's decoder.
 *
 * Wire v1 (docs/PROTOCOL.md): one segment [s, s + 32 + L) per package; its first 32 bytes are the MAC key (the
 * key slot), the rest the XOR key stream. When the format changes, only {@link padRangesOf} changes.
 */
import { bytesToHex } from '@noble/hashes/utils.js';
import type { ByteRange } from '../../device/engine-types.js';
import { MAC_KEY_LENGTH, parsePackage, type Side } from '../../device/wire.js';

/** One range of pad bytes a package uses, and what for. */
export interface PadUse extends ByteRange {
  readonly kind: 'key' | 'stream';
}

/** What the checks need from one package. */
export interface PackageFacts {
  readonly padId: string;
  readonly side: Side;
  readonly length: number;
  readonly ciphertext: Uint8Array;
  readonly tag: Uint8Array;
  /** Every pad byte range the package uses (key slots and stream ranges). */
  readonly uses: readonly PadUse[];
}

/**
 * Decode a package with the engine's own parser and say which pad bytes it uses.
 * @throws OnepadError MALFORMED / UNSUPPORTED_VERSION from the parser
 */
export function padRangesOf(pkg: Uint8Array): PackageFacts {
  const p = parsePackage(pkg);
  const key: PadUse = { kind: 'key', start: p.start, end: p.start + MAC_KEY_LENGTH };
  const stream: PadUse = { kind: 'stream', start: key.end, end: key.end + p.length };
  return {
    padId: bytesToHex(p.padId),
    side: p.side,
    length: p.length,
    ciphertext: p.ciphertext,
    tag: p.tag,
    uses: p.length > 0 ? [key, stream] : [key],
  };
}
