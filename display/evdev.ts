import { createReadStream, type ReadStream } from 'node:fs';
import { OnepadError } from '../device/errors.js';
import type { DisplayConfig } from './config-section.js';
import { type InputEvent, type InputSource, Listeners } from './input.js';

/** Event types and codes from linux/input-event-codes.h. */
export const EV = { SYN: 0x00, KEY: 0x01, ABS: 0x03 } as const;
export const SYN = { REPORT: 0, DROPPED: 3 } as const;
export const ABS = { X: 0x00, Y: 0x01, MT_SLOT: 0x2f, MT_POSITION_X: 0x35, MT_POSITION_Y: 0x36, MT_TRACKING_ID: 0x39 };
export const BTN_TOUCH = 0x14a;
/** The left button of an absolute pointer: a tablet (QEMU's usb-tablet and virtio-tablet), a pen, some panels. */
export const BTN_LEFT = 0x110;
/** Slots beyond this are ignored (the kernel bounds them by the device's own maximum, usually 10). */
export const MAX_SLOTS = 64;

/** One `struct input_event`. */
export interface RawEvent {
  readonly sec: number;
  readonly usec: number;
  readonly type: number;
  readonly code: number;
  readonly value: number;
}

/** The record size of this process's `struct input_event`: 24 with 64-bit time fields, 16 with 32-bit. */
export function nativeRecordSize(): 16 | 24 {
  return ['x64', 'arm64', 'ppc64', 's390x', 'riscv64', 'loong64', 'mips64el'].includes(process.arch) ? 24 : 16;
}

/**
 * Encode one `struct input_event` (little-endian), as the kernel writes it. For tests and the simulator.
 * @throws RangeError when `size` is not 16 or 24
 */
export function encodeEvent(e: RawEvent, size: 16 | 24): Uint8Array {
  if (size !== 16 && size !== 24) throw new RangeError('size must be 16 or 24');
  const b = new Uint8Array(size);
  const v = new DataView(b.buffer);
  if (size === 24) {
    v.setBigInt64(0, BigInt(e.sec), true);
    v.setBigInt64(8, BigInt(e.usec), true);
  } else {
    v.setInt32(0, e.sec, true);
    v.setInt32(4, e.usec, true);
  }
  v.setUint16(size - 8, e.type, true);
  v.setUint16(size - 6, e.code, true);
  v.setInt32(size - 4, e.value, true);
  return b;
}

/**
 * Splits a byte stream into `struct input_event` records. Reads may end inside a record; the rest is kept
 * until the next chunk completes it.
 */
export class EvdevParser {
  readonly recordSize: 16 | 24;
  private readonly partial: Uint8Array;
  private have = 0;

  /** @throws RangeError when `recordSize` is not 16 or 24 */
  constructor(recordSize: 16 | 24) {
    if (recordSize !== 16 && recordSize !== 24) throw new RangeError('recordSize must be 16 or 24');
    this.recordSize = recordSize;
    this.partial = new Uint8Array(recordSize);
  }

  /** Feed a chunk; returns the records it completes. */
  push(chunk: Uint8Array): RawEvent[] {
    const out: RawEvent[] = [];
    const n = this.recordSize;
    let i = 0;
    if (this.have > 0) {
      const take = Math.min(n - this.have, chunk.length);
      this.partial.set(chunk.subarray(0, take), this.have);
      this.have += take;
      i = take;
      if (this.have < n) return out;
      out.push(this.decode(this.partial, 0));
      this.have = 0;
    }
    for (; i + n <= chunk.length; i += n) out.push(this.decode(chunk, i));
    if (i < chunk.length) {
      this.partial.set(chunk.subarray(i), 0);
      this.have = chunk.length - i;
    }
    return out;
  }

  private decode(b: Uint8Array, off: number): RawEvent {
    const v = new DataView(b.buffer, b.byteOffset + off, this.recordSize);
    const n = this.recordSize;
    const sec = n === 24 ? Number(v.getBigInt64(0, true)) : v.getInt32(0, true);
    const usec = n === 24 ? Number(v.getBigInt64(8, true)) : v.getInt32(4, true);
    return {
      sec,
      usec,
      type: v.getUint16(n - 8, true),
      code: v.getUint16(n - 6, true),
      value: v.getInt32(n - 4, true),
    };
  }
}

/** How raw panel coordinates map to screen pixels: the `display.touch` config without the device settings. */
export type TouchMapping = Omit<DisplayConfig['touch'], 'device' | 'recordSize'>;

/** Map raw coordinates to screen pixels: normalise to the axis ranges, swap, invert, rotate clockwise, scale. */
export function mapTouch(rawX: number, rawY: number, m: TouchMapping, width: number, height: number): [number, number] {
  const norm = (v: number, lo: number, hi: number) => (hi === lo ? 0 : Math.min(1, Math.max(0, (v - lo) / (hi - lo))));
  let x = norm(rawX, m.minX, m.maxX);
  let y = norm(rawY, m.minY, m.maxY);
  if (m.swapXY) [x, y] = [y, x];
  if (m.invertX) x = 1 - x;
  if (m.invertY) y = 1 - y;
  if (m.rotation === 90) [x, y] = [1 - y, x];
  else if (m.rotation === 180) [x, y] = [1 - x, 1 - y];
  else if (m.rotation === 270) [x, y] = [y, 1 - x];
  return [Math.round(x * (width - 1)), Math.round(y * (height - 1))];
}

interface Slot {
  id: number;
  x: number;
  y: number;
}

/**
 * Turns evdev frames (events up to SYN_REPORT) into touch events for one primary contact. Multitouch type B
 * (slots, tracking ids), single-touch (ABS_X/Y with BTN_TOUCH) panels and absolute tablets (ABS_X/Y with
 * BTN_LEFT: QEMU's usb-tablet and virtio-tablet, no slots) all work; on a single-touch device the contact is down
 * while BTN_TOUCH or BTN_LEFT is, and position reports with neither (a tablet's hovering pointer) are no touch.
 * Other buttons (right, middle, side) are ignored. Slots at or above {@link MAX_SLOTS} are ignored. The primary contact is the
 * first finger down; once it lifts, no new primary is chosen until every finger is off, so a second finger never
 * turns into a press of its own. SYN_DROPPED ends any touch in progress and discards events up to the next
 * SYN_REPORT.
 */
export class TouchTracker {
  private readonly slots = new Map<number, Slot>();
  private slot = 0;
  private multitouch = false;
  private single = { x: 0, y: 0, touch: false, left: false };
  private primary: number | null = null;
  private waitAllUp = false;
  private last: { x: number; y: number; contacts: number } | null = null;
  private dropping = false;
  private readonly m: TouchMapping;
  private readonly width: number;
  private readonly height: number;

  constructor(m: TouchMapping, width: number, height: number) {
    this.m = m;
    this.width = width;
    this.height = height;
  }

  /** Feed one raw event; returns the touch events its frame produced (only on SYN_REPORT). */
  feed(e: RawEvent): InputEvent[] {
    if (e.type === EV.SYN && e.code === SYN.DROPPED) {
      this.dropping = true;
      const out: InputEvent[] = [];
      if (this.primary !== null && this.last) out.push({ kind: 'touch', phase: 'up', ...this.last, contacts: 0 });
      this.slots.clear();
      this.single = { x: 0, y: 0, touch: false, left: false };
      this.primary = null;
      this.last = null;
      this.waitAllUp = false;
      return out;
    }
    if (this.dropping) {
      if (e.type === EV.SYN && e.code === SYN.REPORT) this.dropping = false;
      return [];
    }
    if (e.type === EV.ABS) this.abs(e.code, e.value);
    else if (e.type === EV.KEY && e.code === BTN_TOUCH) this.single.touch = e.value !== 0;
    else if (e.type === EV.KEY && e.code === BTN_LEFT) this.single.left = e.value !== 0;
    else if (e.type === EV.SYN && e.code === SYN.REPORT) return this.frame();
    return [];
  }

  private slotOf(n: number): Slot {
    // An out-of-range slot gets a scratch slot that is never tracked.
    if (!Number.isInteger(n) || n < 0 || n >= MAX_SLOTS) return { id: -1, x: 0, y: 0 };
    let s = this.slots.get(n);
    if (!s) {
      s = { id: -1, x: 0, y: 0 };
      this.slots.set(n, s);
    }
    return s;
  }

  private abs(code: number, value: number): void {
    switch (code) {
      case ABS.MT_SLOT:
        this.multitouch = true;
        this.slot = value;
        break;
      case ABS.MT_TRACKING_ID:
        this.multitouch = true;
        this.slotOf(this.slot).id = value;
        break;
      case ABS.MT_POSITION_X:
        this.multitouch = true;
        this.slotOf(this.slot).x = value;
        break;
      case ABS.MT_POSITION_Y:
        this.multitouch = true;
        this.slotOf(this.slot).y = value;
        break;
      case ABS.X:
        this.single.x = value;
        break;
      case ABS.Y:
        this.single.y = value;
        break;
    }
  }

  private frame(): InputEvent[] {
    // Active contacts, as (key, raw x, raw y).
    const active: [number, number, number][] = [];
    if (this.multitouch) {
      for (const [n, s] of [...this.slots].sort((a, b) => a[0] - b[0])) if (s.id >= 0) active.push([n, s.x, s.y]);
    } else if (this.single.touch || this.single.left) active.push([0, this.single.x, this.single.y]);
    const contacts = active.length;
    const out: InputEvent[] = [];
    if (this.primary === null) {
      if (contacts === 0) this.waitAllUp = false;
      if (contacts > 0 && !this.waitAllUp) {
        const [n, rx, ry] = active[0]!;
        this.primary = n;
        const [x, y] = mapTouch(rx, ry, this.m, this.width, this.height);
        this.last = { x, y, contacts };
        out.push({ kind: 'touch', phase: 'down', x, y, contacts });
      }
      return out;
    }
    const p = active.find((a) => a[0] === this.primary);
    if (!p) {
      const last = this.last ?? { x: 0, y: 0, contacts: 0 };
      out.push({ kind: 'touch', phase: 'up', x: last.x, y: last.y, contacts });
      this.primary = null;
      this.last = null;
      this.waitAllUp = contacts > 0;
      return out;
    }
    const [x, y] = mapTouch(p[1], p[2], this.m, this.width, this.height);
    if (!this.last || this.last.x !== x || this.last.y !== y || this.last.contacts !== contacts) {
      out.push({ kind: 'touch', phase: 'move', x, y, contacts });
    }
    this.last = { x, y, contacts };
    return out;
  }
}

/** Options of {@link EvdevTouch.open}. */
export interface EvdevOptions {
  readonly recordSize: 16 | 24;
  readonly mapping: TouchMapping;
  readonly width: number;
  readonly height: number;
}

/** An evdev touchscreen read from /dev/input/eventN (or any file or FIFO carrying input_event records). */
export class EvdevTouch implements InputSource {
  private readonly listeners = new Listeners<InputEvent>();
  private readonly stream: ReadStream;
  private readonly parser: EvdevParser;
  private readonly tracker: TouchTracker;
  private readonly opened: Promise<void>;

  private constructor(path: string, o: EvdevOptions) {
    this.parser = new EvdevParser(o.recordSize);
    this.tracker = new TouchTracker(o.mapping, o.width, o.height);
    this.stream = createReadStream(path, { highWaterMark: o.recordSize * 64 });
    this.opened = new Promise((resolve, reject) => {
      this.stream.once('open', () => resolve());
      this.stream.once('error', () =>
        reject(new OnepadError('INPUT_UNAVAILABLE', { reason: 'open' }, `cannot read ${path}`)),
      );
    });
    this.stream.on('data', (chunk) => {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      for (const raw of this.parser.push(bytes)) for (const ev of this.tracker.feed(raw)) this.listeners.emit(ev);
    });
  }

  /**
   * Start reading a touch device. Resolves once it is open. Opening a FIFO waits for its writer.
   * @throws OnepadError INPUT_UNAVAILABLE when the device cannot be opened
   */
  static async open(path: string, o: EvdevOptions): Promise<EvdevTouch> {
    const t = new EvdevTouch(path, o);
    await t.opened;
    return t;
  }

  onInput(listener: (e: InputEvent) => void): () => void {
    return this.listeners.add(listener);
  }

  async close(): Promise<void> {
    if (this.stream.destroyed) return;
    await new Promise<void>((resolve) => {
      this.stream.once('close', () => resolve());
      this.stream.destroy();
    });
  }
}
