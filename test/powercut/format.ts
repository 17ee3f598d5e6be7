/**
 * The one wire-format-specific part of the power-cut checks: which pad bytes a package uses. Everything else
 * goes through the engine's public API and device/wire.ts's decoder.
 *
 * Wire v2 (docs/PROTOCOL.md): message i of a side uses key slot i of that side's key area as its MAC key, and
 * the stream range [s, s + L) of its stream area as key stream; where the key area lies depends on the pad's
 * layout (device/layout.ts), recorded in the ledger. When the format changes, only {@link padRangesOf} changes.
 */
import { bytesToHex } from '@noble/hashes/utils.js';
import type { ByteRange } from '../../device/engine-types.js';
import { keySlot, type PadLayout, sideAreas } from '../../device/layout.js';
import { parsePackage, type Side } from '../../device/wire.js';

/** One range of pad bytes a package uses, and what for. */
export interface PadUse extends ByteRange {
  readonly kind: 'key' | 'stream';
}

/** What the checks need from one package. */
export interface PackageFacts {
  readonly padId: string;
  readonly side: Side;
  /** The message index i: the sender's key slot. */
  readonly index: number;
  readonly length: number;
  readonly ciphertext: Uint8Array;
  readonly tag: Uint8Array;
  /** Every pad byte range the package uses (key slots and stream ranges). */
  readonly uses: readonly PadUse[];
}

/**
 * Decode a package with the engine's own parser and say which pad bytes it uses, given the layout of each pad
 * (as both ledgers record it).
 * @throws OnepadError MALFORMED / UNSUPPORTED_VERSION from the parser
 */
export function padRangesOf(pkg: Uint8Array, layoutOf: (padId: string) => PadLayout): PackageFacts {
  const p = parsePackage(pkg);
  const padId = bytesToHex(p.padId);
  const key: PadUse = { kind: 'key', ...keySlot(sideAreas(layoutOf(padId), p.side), p.index) };
  const stream: PadUse = { kind: 'stream', start: p.streamStart, end: p.streamStart + p.length };
  return {
    padId,
    side: p.side,
    index: p.index,
    length: p.length,
    ciphertext: p.ciphertext,
    tag: p.tag,
    uses: p.length > 0 ? [key, stream] : [key],
  };
}

/**
 * A layout lookup from an engine's own ledger (the peer's: both ledgers record the same layout).
 * @throws Error when the ledger holds no such pad (a package for a pad the harness never made)
 */
export function layoutsFrom(engine: {
  pads(): readonly (PadLayout & { readonly padId: string })[];
}): (padId: string) => PadLayout {
  return (padId) => {
    const pad = engine.pads().find((p) => p.padId === padId);
    if (!pad) throw new Error(`no pad ${padId} in the ledger`);
    return pad;
  };
}
