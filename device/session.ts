/**
 * Pipe sessions (onepad pipe, docs/PIPE.md): one approval on the device's screen for many frames, within a budget
 * of pad bytes and a time limit. This module holds a session's state and its pad chunks; device/engine.ts reserves
 * the chunks durably, reads and burns them, and builds the frames.
 *
 * A chunk is one durable reservation of `slots` consecutive key slots and one range of key stream (ledger
 * reserveChunk), read into memory and burned in the pad file at once. Frames take one key slot and the next bytes
 * of the chunk's stream (side A forward, side B backward, as single messages do), so every frame is an ordinary
 * wire v2 package and the key/stream invariant of docs/PROTOCOL.md holds unchanged. What a frame has used is zeroed
 * in memory at once; the rest of a chunk is zeroed when the chunk is dropped (used up, or the session ended).
 */
import type { SessionEndReason, SessionView } from './confirm.js';
import type { ByteRange } from './engine-types.js';
import type { ChunkReservation } from './ledger/ledger.js';
import { MAC_KEY_LENGTH, type Side } from './wire.js';

/** Bounds on chunk sizes and on sessions (the engine may be given others, for tests). */
export interface SessionLimits {
  /** Most key slots one chunk reserves. */
  readonly maxChunkSlots: number;
  /** Most key stream bytes one chunk reserves. */
  readonly maxChunkStream: number;
  /** The session ends when no request came for this long (the laptop went away). */
  readonly idleMs: number;
  /** Most frames in one request. */
  readonly maxFramesPerRequest: number;
  /** Ended sessions remembered (to answer SESSION_ENDED with the reason rather than SESSION_UNKNOWN). */
  readonly rememberEnded: number;
}

export const DEFAULT_SESSION_LIMITS: SessionLimits = {
  maxChunkSlots: 4096,
  maxChunkStream: 1 << 20,
  idleMs: 30_000,
  maxFramesPerRequest: 1024,
  rememberEnded: 32,
};

/** Budget bounds a laptop may ask for (the owner may choose within them on screen). */
export const SESSION_MAX_BUDGET = 2 ** 50;
export const SESSION_MAX_SECONDS = 7 * 24 * 3600;

/** What the next chunk should hold, given what the frame needs, the targets, the budget and the pad left. */
export interface ChunkAsk {
  /** Stream bytes the frame about to be packaged needs (its padded length). */
  readonly need: number;
  readonly targetSlots: number;
  readonly targetStream: number;
  /** Budget bytes not yet reserved. */
  readonly budgetLeft: number;
  readonly slotsLeft: number;
  readonly streamLeft: number;
}

/**
 * The size of the next chunk: at least one key slot and `need` stream bytes, at most the targets, and never more
 * than the budget left (32 bytes per slot plus the stream) or the pad left. `budget` or `pad` when even the frame
 * does not fit.
 */
export function planChunk(a: ChunkAsk): { slots: number; stream: number } | { fail: 'budget' | 'pad' } {
  if (a.slotsLeft < 1 || a.streamLeft < a.need) return { fail: 'pad' };
  if (MAC_KEY_LENGTH + a.need > a.budgetLeft) return { fail: 'budget' };
  let slots = Math.max(1, Math.min(a.targetSlots, a.slotsLeft));
  let stream = Math.max(a.need, Math.min(a.targetStream, a.streamLeft));
  if (MAC_KEY_LENGTH * slots + stream > a.budgetLeft) {
    // Shrink both extras by the same factor until the chunk fits the budget; the frame's own need always fits.
    const extra = a.budgetLeft - MAC_KEY_LENGTH - a.need;
    const wanted = MAC_KEY_LENGTH * (slots - 1) + (stream - a.need);
    const f = extra / wanted;
    slots = 1 + Math.floor((slots - 1) * f);
    stream = a.need + Math.floor((stream - a.need) * f);
    while (MAC_KEY_LENGTH * slots + stream > a.budgetLeft) {
      if (stream > a.need) stream--;
      else slots--;
    }
  }
  return { slots, stream };
}

/** A chunk in memory: its reservation and the pad bytes read for it (burned in the file already). */
export interface Chunk {
  readonly r: ChunkReservation;
  /** 32 × slots key bytes. */
  readonly keys: Uint8Array;
  /** The chunk's key stream, `r.stream` of the pad. */
  readonly stream: Uint8Array;
  /** Key slots used so far. */
  usedSlots: number;
  /** Stream bytes used so far (from the start for A, from the end for B). */
  usedStream: number;
}

/** What a frame takes of a chunk: its index, its stream range and views of its key and key stream bytes. */
export interface FrameBytes {
  readonly index: number;
  readonly stream: ByteRange;
  readonly key: Uint8Array;
  readonly keyStream: Uint8Array;
}

/** The frame's bytes from `chunk`, or null when the chunk has no key slot or not `length` stream bytes left. */
export function takeFrame(chunk: Chunk, side: Side, length: number): FrameBytes | null {
  if (chunk.usedSlots >= chunk.r.slots || chunk.usedStream + length > chunk.stream.length) return null;
  const slot = chunk.usedSlots;
  const key = chunk.keys.subarray(slot * MAC_KEY_LENGTH, (slot + 1) * MAC_KEY_LENGTH);
  const total = chunk.stream.length;
  const off = side === 'A' ? chunk.usedStream : total - chunk.usedStream - length;
  const keyStream = chunk.stream.subarray(off, off + length);
  chunk.usedSlots++;
  chunk.usedStream += length;
  const start = chunk.r.stream.start + off;
  return { index: chunk.r.firstIndex + slot, stream: { start, end: start + length }, key, keyStream };
}

/** Zero a chunk's pad bytes. */
export function dropChunk(chunk: Chunk | null): void {
  if (!chunk) return;
  chunk.keys.fill(0);
  chunk.stream.fill(0);
}

/** A session's state, kept by the engine in memory only: a restart ends every session. */
export interface Session {
  readonly id: string;
  readonly contact: string;
  readonly padId: string;
  readonly side: Side;
  readonly budgetBytes: number;
  readonly frameSize: number | null;
  readonly openedAt: number;
  readonly expiresAt: number;
  readonly insecure: boolean;
  usedBytes: number;
  sentBytes: number;
  receivedBytes: number;
  framesSent: number;
  framesReceived: number;
  lastSeen: number;
  chunk: Chunk | null;
  targetSlots: number;
  targetStream: number;
  endReason: SessionEndReason | null;
}

/** The screen's view of a session. */
export function viewOf(s: Session): SessionView {
  return {
    id: s.id,
    contact: s.contact,
    budgetBytes: s.budgetBytes,
    usedBytes: s.usedBytes,
    sentBytes: s.sentBytes,
    receivedBytes: s.receivedBytes,
    framesSent: s.framesSent,
    framesReceived: s.framesReceived,
    frameSize: s.frameSize,
    expiresAt: s.expiresAt,
    state: s.endReason === null ? 'running' : 'ended',
    endReason: s.endReason,
    insecure: s.insecure,
  };
}
