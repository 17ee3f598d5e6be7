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
 *
 * Each byte is copied once, as it arrives, into its frame's payload buffer: the reader keeps no reference to the
 * socket's buffers, so they die young (held until a 1 MiB frame completed, they were promoted to the old
 * generation and cost a major garbage collection every few megabytes).
 */
export class FrameReader {
  private readonly head = new Uint8Array(FRAME_HEADER);
  private headFill = 0;
  private type: FrameType = FRAME.HELLO;
  /** The payload being assembled, once its header is complete; null between frames. */
  private payload: Uint8Array | null = null;
  private fill = 0;
  /** Zeroed payload buffers handed back by {@link recycle}, reused for payloads of the same length. */
  private spare: Uint8Array[] = [];
  private readonly maxPayload: number;

  /** @param maxPayload - the largest payload accepted; a larger declared length is a protocol error */
  constructor(maxPayload: number) {
    this.maxPayload = maxPayload;
  }

  /**
   * Add bytes and return every complete frame now available. Each byte is copied once; `chunk` is not kept, and
   * the bytes of it that went into a payload of more than 4 KiB (a chunk frame) are zeroed there.
   * @throws OnepadError PAIRING_PROTOCOL for an unknown type or an oversized length
   */
  push(chunk: Uint8Array): Frame[] {
    const frames: Frame[] = [];
    let at = 0;
    while (at < chunk.length || (this.payload && this.fill === this.payload.length)) {
      if (!this.payload) {
        const k = Math.min(FRAME_HEADER - this.headFill, chunk.length - at);
        this.head.set(chunk.subarray(at, at + k), this.headFill);
        this.headFill += k;
        at += k;
        if (this.headFill < FRAME_HEADER) break;
        this.startPayload();
      }
      const p = this.payload as Uint8Array;
      const k = Math.min(p.length - this.fill, chunk.length - at);
      if (k > 0) {
        const from = chunk.subarray(at, at + k);
        p.set(from, this.fill);
        if (p.length > 4096) from.fill(0);
        this.fill += k;
        at += k;
      }
      if (this.fill === p.length) {
        frames.push({ type: this.type, payload: p });
        this.payload = null;
        this.fill = 0;
        this.headFill = 0;
      }
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
    this.payload?.fill(0);
    this.payload = null;
    this.fill = 0;
    this.head.fill(0);
    this.headFill = 0;
  }

  /**
   * Check the complete header and set up the payload buffer, whose byte 4 (where a chunk frame's bytes start,
   * after the index) is 8-byte aligned, so the chunk can be XORed 64 bits at a time.
   */
  private startPayload(): void {
    const type = this.head[0] as number;
    if (!TYPES.has(type))
      throw new OnepadError('PAIRING_PROTOCOL', { reason: 'unknown frame', type }, 'unknown frame type');
    const len = new DataView(this.head.buffer).getUint32(1, false);
    if (len > this.maxPayload) {
      throw new OnepadError('PAIRING_PROTOCOL', { reason: 'frame too large', length: len }, 'frame too large');
    }
    this.type = type as FrameType;
    const reuse = this.spare.findIndex((b) => b.length === len);
    this.payload =
      reuse >= 0 ? (this.spare.splice(reuse, 1)[0] as Uint8Array) : new Uint8Array(new ArrayBuffer(len + 4), 4, len);
    this.fill = 0;
  }
}
