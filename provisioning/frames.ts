/**
 * Pairing frames on the TCP stream between two devices: `type (u8) | length (u32 BE) | payload`.
 * JSON frames carry small control messages; COMMIT and REVEAL carry binary chunk data.
 */
import { OnepadError } from '../device/errors.js';

export const FRAME = {
  HELLO: 1,
  PROPOSE: 2,
  ACCEPT: 3,
  COMMIT: 4,
  REVEAL: 5,
  FINGERPRINT: 6,
  DECISION: 7,
  INSTALLED: 8,
  ABORT: 9,
} as const;
export type FrameType = (typeof FRAME)[keyof typeof FRAME];

const TYPES = new Set<number>(Object.values(FRAME));
export const FRAME_HEADER = 5;

/** One decoded frame. */
export interface Frame {
  readonly type: FrameType;
  readonly payload: Uint8Array;
}

/** Encode a frame. */
export function encodeFrame(type: FrameType, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER + payload.length);
  out[0] = type;
  new DataView(out.buffer).setUint32(1, payload.length, false);
  out.set(payload, FRAME_HEADER);
  return out;
}

/**
 * The header of a chunk frame (COMMIT or REVEAL): `type | length | chunk index`, to be sent just before the
 * chunk's bytes, so the bytes go to the socket from where they were read, never copied into a frame.
 */
export function chunkFrameHeader(type: FrameType, index: number, length: number): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER + 4);
  const v = new DataView(out.buffer);
  out[0] = type;
  v.setUint32(1, 4 + length, false);
  v.setUint32(FRAME_HEADER, index, false);
  return out;
}

/** Encode a JSON control frame. */
export function jsonFrame(type: FrameType, value: unknown): Uint8Array {
  return encodeFrame(type, new TextEncoder().encode(JSON.stringify(value)));
}

/**
 * Parse a JSON frame payload into an object.
 * @throws OnepadError PAIRING_PROTOCOL when it is not a JSON object
 */
export function parseJson(payload: Uint8Array): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
  } catch {
    throw new OnepadError('PAIRING_PROTOCOL', { reason: 'bad json' }, 'control frame is not JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new OnepadError('PAIRING_PROTOCOL', { reason: 'not an object' }, 'control frame is not an object');
  }
  return v as Record<string, unknown>;
}

/**
 * Incremental frame parser: feed it stream bytes in any split, take out whole frames.
 */
export class FrameReader {
  private pieces: Uint8Array[] = [];
  private total = 0;
  /** Zeroed payload buffers handed back by {@link recycle}, reused for payloads of the same length. */
  private spare: Uint8Array[] = [];
  private readonly maxPayload: number;

  /** @param maxPayload - the largest payload accepted; a larger declared length is a protocol error */
  constructor(maxPayload: number) {
    this.maxPayload = maxPayload;
  }

  /**
   * Add bytes and return every complete frame now available. Each byte is copied once.
   * @throws OnepadError PAIRING_PROTOCOL for an unknown type or an oversized length
   */
  push(chunk: Uint8Array): Frame[] {
    if (chunk.length > 0) {
      this.pieces.push(chunk);
      this.total += chunk.length;
    }
    const frames: Frame[] = [];
    while (this.total >= FRAME_HEADER) {
      const head = this.peek(FRAME_HEADER);
      const type = head[0] as number;
      if (!TYPES.has(type))
        throw new OnepadError('PAIRING_PROTOCOL', { reason: 'unknown frame', type }, 'unknown frame type');
      const len = new DataView(head.buffer, head.byteOffset, FRAME_HEADER).getUint32(1, false);
      if (len > this.maxPayload) {
        throw new OnepadError('PAIRING_PROTOCOL', { reason: 'frame too large', length: len }, 'frame too large');
      }
      if (this.total < FRAME_HEADER + len) break;
      this.take(FRAME_HEADER);
      frames.push({ type: type as FrameType, payload: this.take(len) });
    }
    return frames;
  }

  /**
   * Hand back a payload this reader returned, for reuse by a later frame of the same length (saves the garbage
   * collector a megabyte per chunk). The caller must be done with it; it is zeroed here.
   */
  recycle(payload: Uint8Array): void {
    payload.fill(0);
    if (this.spare.length < 16 && payload.length > 4096) this.spare.push(payload);
  }

  /** Zero and drop buffered bytes. */
  clear(): void {
    this.spare = [];
    for (const p of this.pieces) p.fill(0);
    this.pieces = [];
    this.total = 0;
  }

  private peek(n: number): Uint8Array {
    const first = this.pieces[0] as Uint8Array;
    if (first.length >= n) return first.subarray(0, n);
    const out = new Uint8Array(n);
    let off = 0;
    for (const p of this.pieces) {
      const k = Math.min(p.length, n - off);
      out.set(p.subarray(0, k), off);
      off += k;
      if (off === n) break;
    }
    return out;
  }

  /**
   * The payload, assembled in a fresh buffer whose byte 4 (where a chunk frame's bytes start, after the index) is
   * 8-byte aligned, so the chunk can be XORed 64 bits at a time.
   */
  private take(n: number): Uint8Array {
    const reuse = this.spare.findIndex((b) => b.length === n);
    const out =
      reuse >= 0 ? (this.spare.splice(reuse, 1)[0] as Uint8Array) : new Uint8Array(new ArrayBuffer(n + 4), 4, n);
    let off = 0;
    while (off < n) {
      const p = this.pieces[0] as Uint8Array;
      const k = Math.min(p.length, n - off);
      out.set(p.subarray(0, k), off);
      off += k;
      if (k === p.length) this.pieces.shift();
      else this.pieces[0] = p.subarray(k);
    }
    this.total -= n;
    return out;
  }
}
