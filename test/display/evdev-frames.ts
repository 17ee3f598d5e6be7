import { ABS, BTN_TOUCH, EV, encodeEvent, type RawEvent, SYN } from '../../display/evdev.js';

/** Build crafted `struct input_event` streams for touch tests. */
const ev = (type: number, code: number, value: number, t = 0): RawEvent => ({
  sec: 1_700_000_000 + t,
  usec: 1234,
  type,
  code,
  value,
});

export const syn = (): RawEvent => ev(EV.SYN, SYN.REPORT, 0);

/** A finger lands in `slot` with tracking id `id` at raw (x, y); a frame (ends with SYN_REPORT). */
export function down(slot: number, id: number, x: number, y: number, first = true): RawEvent[] {
  return [
    ev(EV.ABS, ABS.MT_SLOT, slot),
    ev(EV.ABS, ABS.MT_TRACKING_ID, id),
    ev(EV.ABS, ABS.MT_POSITION_X, x),
    ev(EV.ABS, ABS.MT_POSITION_Y, y),
    ...(first ? [ev(EV.KEY, BTN_TOUCH, 1), ev(EV.ABS, ABS.X, x), ev(EV.ABS, ABS.Y, y)] : []),
    syn(),
  ];
}

/** The finger in `slot` moves to raw (x, y). */
export function move(slot: number, x: number, y: number): RawEvent[] {
  return [ev(EV.ABS, ABS.MT_SLOT, slot), ev(EV.ABS, ABS.MT_POSITION_X, x), ev(EV.ABS, ABS.MT_POSITION_Y, y), syn()];
}

/** The finger in `slot` lifts. */
export function up(slot: number, last = true): RawEvent[] {
  return [
    ev(EV.ABS, ABS.MT_SLOT, slot),
    ev(EV.ABS, ABS.MT_TRACKING_ID, -1),
    ...(last ? [ev(EV.KEY, BTN_TOUCH, 0)] : []),
    syn(),
  ];
}

/** Encode events as one byte stream. */
export function bytes(events: readonly RawEvent[], size: 16 | 24): Buffer {
  return Buffer.concat(events.map((e) => encodeEvent(e, size)));
}
