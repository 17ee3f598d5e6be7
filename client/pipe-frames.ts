/**
 * The records a pipe carries inside each frame's plaintext (docs/PIPE.md), authenticated by the frame's one-time
 * MAC like the rest of it:
 *
 * | offset | size | field                                                               |
 * | ------ | ---- | ------------------------------------------------------------------- |
 * | 0      | 1    | type: 1 OPEN (a connection starts), 2 DATA, 3 EOF (no more data)   |
 * | 1      | 8    | connection id: chosen at random by the side that connected          |
 * | 9      | 4    | sequence number (u32, big-endian): 0, 1, 2, … per direction          |
 * | 13     | 4    | data length n                                                       |
 * | 17     | n    | data                                                                |
 * | 17 + n | …    | zero bytes only (the device's padding to the session's frame size) |
 *
 * The receiving laptop accepts only the next sequence number of its own connection id: a frame dropped, reordered,
 * replayed from another connection of the same session, or a stream cut short before EOF, ends the stream with a
 * clear error. (The device itself refuses replays; the pad's gaps inside a session are expected, so the order is
 * the pipe's to check.)
 */
import { OnepadError } from '../device/errors.js';

export const FRAME_HEADER = 17;
/**
 * 1-3 are used by every pipe; RESET (a stream ends with a reason: its data is an ASCII code), PING (keepalive)
 * and ETHER (one Ethernet frame) only on a multiplexed channel (client/pipe-channel.ts), where the sequence number
 * counts the records of the whole channel per direction.
 */
export const FRAME_TYPES = { OPEN: 1, DATA: 2, EOF: 3, RESET: 4, PING: 5, ETHER: 6 } as const;
export type FrameType = keyof typeof FRAME_TYPES;

/** One record. */
export interface PipeFrame {
  readonly type: FrameType;
  /** 8 bytes. */
  readonly conn: Uint8Array;
  readonly seq: number;
  readonly data: Uint8Array;
}

/** Encode one record (the device pads it). @throws RangeError on a bad connection id or sequence number */
export function encodeFrame(f: PipeFrame): Uint8Array {
  if (f.conn.length !== 8) throw new RangeError('connection id must be 8 bytes');
  if (!Number.isSafeInteger(f.seq) || f.seq < 0 || f.seq > 0xffff_ffff) throw new RangeError('seq out of range');
  const out = new Uint8Array(FRAME_HEADER + f.data.length);
  const dv = new DataView(out.buffer);
  out[0] = FRAME_TYPES[f.type];
  out.set(f.conn, 1);
  dv.setUint32(9, f.seq);
  dv.setUint32(13, f.data.length);
  out.set(f.data, FRAME_HEADER);
  return out;
}

const TYPE_OF = new Map<number, FrameType>(Object.entries(FRAME_TYPES).map(([k, v]) => [v, k as FrameType]));

/**
 * Parse one record from a frame's plaintext.
 * @throws OnepadError MALFORMED when it is shorter than its header or its length, has an unknown type, or
 *   anything but zeros after its data
 */
export function parseFrame(b: Uint8Array): PipeFrame {
  if (b.length < FRAME_HEADER) throw new OnepadError('MALFORMED', { reason: 'pipe frame too short' });
  const type = TYPE_OF.get(b[0] as number);
  if (!type) throw new OnepadError('MALFORMED', { reason: 'pipe frame type' });
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const n = dv.getUint32(13);
  if (FRAME_HEADER + n > b.length) throw new OnepadError('MALFORMED', { reason: 'pipe frame length' });
  for (let i = FRAME_HEADER + n; i < b.length; i++) {
    if (b[i] !== 0) throw new OnepadError('MALFORMED', { reason: 'pipe frame padding' });
  }
  return {
    type,
    conn: b.slice(1, 9),
    seq: dv.getUint32(9),
    data: b.subarray(FRAME_HEADER, FRAME_HEADER + n),
  };
}

/**
 * Checks the records of one direction of one connection: the connection id, then consecutive sequence numbers
 * from 0, OPEN only first, nothing after EOF.
 */
export class FrameOrder {
  private next = 0;
  private ended = false;
  private conn: Uint8Array | null;

  /** @param conn - the connection id expected, or null to take it from the first record (an OPEN) */
  constructor(conn: Uint8Array | null) {
    this.conn = conn;
  }

  /** The connection id (after the first record when it was not known). */
  get connection(): Uint8Array | null {
    return this.conn;
  }

  /** @throws OnepadError MALFORMED (details.reason says which rule) when `f` breaks the order */
  accept(f: PipeFrame): void {
    if (this.ended) throw new OnepadError('MALFORMED', { reason: 'pipe frame after EOF' });
    if (this.conn === null) {
      if (f.type !== 'OPEN') throw new OnepadError('MALFORMED', { reason: 'pipe must start with OPEN' });
      this.conn = f.conn.slice();
    } else if (!Buffer.from(f.conn).equals(Buffer.from(this.conn))) {
      throw new OnepadError('MALFORMED', { reason: 'pipe frame of another connection' });
    }
    if (f.seq !== this.next) {
      throw new OnepadError('MALFORMED', { reason: 'pipe frame out of order', expected: this.next, got: f.seq });
    }
    if (f.type === 'OPEN' && f.seq !== 0) throw new OnepadError('MALFORMED', { reason: 'pipe OPEN not first' });
    this.next++;
    if (f.type === 'EOF') this.ended = true;
  }

  /** True once EOF was accepted. */
  get done(): boolean {
    return this.ended;
  }
}

/**
 * Splits the byte stream between laptops into packages: each is a u32 length (big-endian) and the package.
 * Feed it chunks; it returns the whole packages so far.
 *
 * With `notices` (a multiplexed channel), a length of 0 is followed by one byte n and n ASCII bytes of an error
 * code: the other laptop's unauthenticated word that its side failed (client/pipe-channel.ts). It is returned as
 * a string among the packages.
 */
export class PackageReader {
  private buf: Buffer = Buffer.alloc(0);
  constructor(
    private readonly max: number,
    private readonly notices = false,
  ) {}

  /** @throws OnepadError MALFORMED when a length is 0 (without notices) or above the maximum, or a notice is bad */
  push(chunk: Buffer): Uint8Array[];
  push(chunk: Buffer, withNotices: true): (Uint8Array | string)[];
  push(chunk: Buffer): (Uint8Array | string)[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: (Uint8Array | string)[] = [];
    let off = 0;
    while (this.buf.length - off >= 4) {
      const n = this.buf.readUInt32BE(off);
      if (n === 0 && this.notices) {
        if (this.buf.length - off < 5) break;
        const len = this.buf[off + 4] as number;
        if (this.buf.length - off - 5 < len) break;
        const code = this.buf.toString('latin1', off + 5, off + 5 + len);
        if (!/^[A-Z][A-Z0-9_]{0,47}$/.test(code)) throw new OnepadError('MALFORMED', { reason: 'pipe notice' });
        out.push(code);
        off += 5 + len;
        continue;
      }
      if (n === 0 || n > this.max) throw new OnepadError('MALFORMED', { reason: 'pipe package length' });
      if (this.buf.length - off - 4 < n) break;
      out.push(this.buf.subarray(off + 4, off + 4 + n));
      off += 4 + n;
    }
    this.buf = this.buf.subarray(off);
    return out;
  }

  /** Bytes of an incomplete package left over. */
  get pending(): number {
    return this.buf.length;
  }
}

/** A package with its u32 length in front, for the stream between laptops. */
export function framePackage(pkg: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(4 + pkg.length);
  out.writeUInt32BE(pkg.length, 0);
  out.set(pkg, 4);
  return out;
}

/** The wire form of a failure notice (see {@link PackageReader}). */
export function frameNotice(code: string): Buffer {
  const c = Buffer.from(code.slice(0, 48), 'latin1');
  return Buffer.concat([Buffer.alloc(4), Buffer.from([c.length]), c]);
}
