/**
 * The v2 layout of a pad, fixed once at install and recorded in both devices' ledgers (docs/PROTOCOL.md):
 *
 * ```
 * 0          32·kA              split                     n − 32·kB           n
 * | A's keys | A's stream  ----> | <---- B's stream       | B's keys          |
 * ```
 *
 * Each side's region holds a **key area** of K slots of 32 bytes and a disjoint **stream area**. Message i of a
 * side takes key slot i as its one-time Poly1305 key and L bytes of its stream area as key stream (A forward from
 * the start of its stream area, B backward from the end of its). No byte is ever in both areas, so no pad byte can
 * ever be both a MAC key and key stream, whatever a package claims: the receiver checks that a package's index
 * and stream range lie in the sender's key and stream areas before it reads a byte.
 */
import type { ByteRange } from './engine-types.js';
import { OnepadError } from './errors.js';
import { MAC_KEY_LENGTH, MAX_WIRE_INDEX, type Side } from './wire.js';

/** What both ledgers record about a pad's layout. */
export interface PadLayout {
  readonly size: number;
  /** A's region is [0, split), B's [split, size). */
  readonly split: number;
  readonly keySlotsA: number;
  readonly keySlotsB: number;
}

/** One side's areas. */
export interface SideAreas {
  /** The key area: `slots` slots of 32 bytes. */
  readonly keys: ByteRange;
  readonly slots: number;
  /** The stream area, disjoint from every key area. */
  readonly stream: ByteRange;
}

/** One side's areas of a pad. */
export function sideAreas(layout: PadLayout, side: Side): SideAreas {
  if (side === 'A') {
    const keysEnd = layout.keySlotsA * MAC_KEY_LENGTH;
    return { keys: { start: 0, end: keysEnd }, slots: layout.keySlotsA, stream: { start: keysEnd, end: layout.split } };
  }
  const keysStart = layout.size - layout.keySlotsB * MAC_KEY_LENGTH;
  return {
    keys: { start: keysStart, end: layout.size },
    slots: layout.keySlotsB,
    stream: { start: layout.split, end: keysStart },
  };
}

/** The pad bytes of key slot `index` of a side's areas (the caller checks `index < slots`). */
export function keySlot(areas: SideAreas, index: number): ByteRange {
  const start = areas.keys.start + index * MAC_KEY_LENGTH;
  return { start, end: start + MAC_KEY_LENGTH };
}

/** How many key slots a region of `bytes` gets for messages of about `typical` bytes: at least one, and at least
 * one stream byte left. */
function slotsFor(bytes: number, typical: number): number {
  const fit = Math.floor(bytes / (typical + MAC_KEY_LENGTH));
  return Math.min(MAX_WIRE_INDEX, Math.max(1, Math.min(fit, Math.floor((bytes - 1) / MAC_KEY_LENGTH))));
}

/**
 * The layout of a new pad of `size` bytes: split in half, each region's key area sized for messages of about
 * `typicalLength` bytes (keys ≈ 32 / (typical + 32) of the region).
 * @throws OnepadError INVALID_ARGUMENT when a region cannot hold one key slot and one stream byte
 */
export function planLayout(size: number, typicalLength: number): PadLayout {
  const split = Math.floor(size / 2);
  if (!Number.isSafeInteger(typicalLength) || typicalLength < 1) {
    throw new OnepadError('INVALID_ARGUMENT', { argument: 'typicalLength' }, 'typical length must be at least 1');
  }
  const layout = {
    size,
    split,
    keySlotsA: slotsFor(split, typicalLength),
    keySlotsB: slotsFor(size - split, typicalLength),
  };
  checkLayout(layout);
  return layout;
}

/**
 * Check a layout (from a peer's PROPOSE or a ledger row): each region holds at least one key slot and one stream
 * byte, and the areas do not cross the split.
 * @throws OnepadError INVALID_ARGUMENT when it does not
 */
export function checkLayout(l: PadLayout): void {
  const ok =
    Number.isSafeInteger(l.size) &&
    Number.isSafeInteger(l.split) &&
    Number.isSafeInteger(l.keySlotsA) &&
    Number.isSafeInteger(l.keySlotsB) &&
    l.split >= 0 &&
    l.split <= l.size &&
    l.keySlotsA >= 1 &&
    l.keySlotsB >= 1 &&
    l.keySlotsA <= MAX_WIRE_INDEX &&
    l.keySlotsB <= MAX_WIRE_INDEX &&
    l.keySlotsA * MAC_KEY_LENGTH < l.split &&
    l.keySlotsB * MAC_KEY_LENGTH < l.size - l.split;
  if (!ok) throw new OnepadError('INVALID_ARGUMENT', { argument: 'layout' }, 'pad layout does not fit the pad');
}
