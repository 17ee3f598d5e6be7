/**
 * Pure range arithmetic for received segments and gaps. Ranges are half-open [start, end).
 */
import type { ByteRange } from './engine-types.js';
import type { Side } from './wire.js';

/** How a new segment relates to the segments already received. */
export type Relation = 'new' | 'replay' | 'overlap';

/**
 * Classify `r` against `nearest`: the received segment with the greatest start below `r.end`, if any.
 * Received segments are disjoint, so if `nearest` does not overlap `r`, no received segment does.
 */
export function classify(r: ByteRange, nearest: ByteRange | undefined): Relation {
  if (!nearest || nearest.end <= r.start) return 'new';
  return nearest.start === r.start && nearest.end === r.end ? 'replay' : 'overlap';
}

/** True when [a.start, a.end) and [b.start, b.end) share a byte. */
export function intersects(a: ByteRange, b: ByteRange): boolean {
  return a.start < b.end && b.start < a.end;
}

/** True when `inner` lies entirely inside `outer`. */
export function contains(outer: ByteRange, inner: ByteRange): boolean {
  return outer.start <= inner.start && inner.end <= outer.end;
}

/**
 * The region of the pad each side sends from: A owns [0, split) and consumes forward; B owns [split, size) and
 * consumes backward.
 */
export function regionOf(side: Side, size: number, split: number): ByteRange {
  return side === 'A' ? { start: 0, end: split } : { start: split, end: size };
}

/** The other side. */
export function otherSide(side: Side): Side {
  return side === 'A' ? 'B' : 'A';
}

/**
 * The frontier of what a peer has sent, as seen by its receiver: for a forward (A) sender the furthest end
 * received so far (or the region start), for a backward (B) sender the lowest start (or the region end).
 * A new segment beyond the frontier reveals a gap; one behind it arrived late.
 */
export interface GapCheck {
  /** The range skipped between the frontier and this segment, if any. */
  readonly gap: ByteRange | null;
  /** The segment lies behind the frontier: it fills (part of) an earlier gap. */
  readonly late: boolean;
}

/**
 * Where segment `r` from a sender on `senderSide` falls relative to that sender's frontier.
 * @param frontier - forward sender: max end received (region start if none); backward: min start (region end)
 */
export function checkGap(senderSide: Side, frontier: number, r: ByteRange): GapCheck {
  if (senderSide === 'A') {
    if (r.start > frontier) return { gap: { start: frontier, end: r.start }, late: false };
    return { gap: null, late: r.end <= frontier && r.start < frontier };
  }
  if (r.end < frontier) return { gap: { start: r.end, end: frontier }, late: false };
  return { gap: null, late: r.start >= frontier && r.end > frontier };
}
