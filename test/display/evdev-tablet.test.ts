/**
 * The evdev reader with an absolute tablet, as QEMU's usb-tablet and virtio-tablet report through the kernel's
 * evdev: EV_ABS ABS_X/ABS_Y over 0..32767 and EV_KEY BTN_LEFT, no multitouch slots; the pointer reports its
 * position while no button is down (hover). Records go through a FIFO into the real reader, which drives the
 * device UI: a tap on Approve never approves, a hold does, a hold that leaves Approve does not.
 *
 * Hostile record streams (fast-check): any sequence of records, including out-of-range slots, stray buttons,
 * SYN_DROPPED mid-frame, negative and huge coordinates, and plain random bytes through the parser, never throws,
 * and what comes out is always a well-formed contact: down, move*, up, inside the screen, one at a time.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ABS,
  BTN_LEFT,
  BTN_TOUCH,
  EV,
  EvdevParser,
  MAX_SLOTS,
  type RawEvent,
  SYN,
  type TouchMapping,
  TouchTracker,
} from '../../display/evdev.js';
import type { InputEvent } from '../../display/input.js';
import { bytes } from './evdev-frames.js';
import { openTouchRig, until } from './evdev-rig.js';

/** QEMU's tablets: both axes 0..32767. */
const TABLET: TouchMapping = {
  minX: 0,
  maxX: 32767,
  minY: 0,
  maxY: 32767,
  swapXY: false,
  invertX: false,
  invertY: false,
  rotation: 0,
};
const BTN_RIGHT = 0x111;
const BTN_MIDDLE = 0x112;
const REL_WHEEL = 0x08;

const ev = (type: number, code: number, value: number): RawEvent => ({ sec: 1, usec: 0, type, code, value });
const syn = () => ev(EV.SYN, SYN.REPORT, 0);
/** Screen pixel -> the tablet's raw coordinate (the inverse of the mapping, rounded to the raw grid). */
const rawX = (x: number) => Math.round((x * 32767) / 799);
const rawY = (y: number) => Math.round((y * 32767) / 479);
/** The pointer moves to screen pixel (x, y), button state unchanged. */
const at = (x: number, y: number) => [ev(EV.ABS, ABS.X, rawX(x)), ev(EV.ABS, ABS.Y, rawY(y)), syn()];
const press = (x: number, y: number, code = BTN_LEFT) => [
  ev(EV.ABS, ABS.X, rawX(x)),
  ev(EV.ABS, ABS.Y, rawY(y)),
  ev(EV.KEY, code, 1),
  syn(),
];
const release = (code = BTN_LEFT) => [ev(EV.KEY, code, 0), syn()];

function track(events: RawEvent[]): InputEvent[] {
  const t = new TouchTracker(TABLET, 800, 480);
  return events.flatMap((e) => t.feed(e));
}

describe('absolute tablet (usb-tablet, virtio-tablet)', () => {
  it('hovering is no touch; BTN_LEFT down, moves, up are one contact in screen pixels', () => {
    expect(track([...at(10, 10), ...at(400, 240), ...at(799, 479)])).toEqual([]);
    expect(track([...at(5, 5), ...press(400, 240), ...at(410, 250), ...release(), ...at(600, 300)])).toEqual([
      { kind: 'touch', phase: 'down', x: 400, y: 240, contacts: 1 },
      { kind: 'touch', phase: 'move', x: 410, y: 250, contacts: 1 },
      { kind: 'touch', phase: 'up', x: 410, y: 250, contacts: 0 },
    ]);
  });

  it('the right and middle buttons and the wheel do not press', () => {
    const e = track([
      ...press(400, 240, BTN_RIGHT),
      ...release(BTN_RIGHT),
      ...press(400, 240, BTN_MIDDLE),
      ev(2, REL_WHEEL, 1),
      syn(),
    ]);
    expect(e).toEqual([]);
  });

  it('BTN_LEFT and BTN_TOUCH together are one contact, up only when both are released', () => {
    const e = track([...press(100, 100), ev(EV.KEY, BTN_TOUCH, 1), syn(), ...release(), ...release(BTN_TOUCH)]);
    expect(e.map((x) => x.phase)).toEqual(['down', 'up']);
  });

  it('autorepeat (value 2) keeps the button down; SYN_DROPPED ends the contact', () => {
    const e = track([...press(100, 100), ev(EV.KEY, BTN_LEFT, 2), syn(), ev(EV.SYN, SYN.DROPPED, 0), ...at(1, 1)]);
    expect(e.map((x) => x.phase)).toEqual(['down', 'up']);
    // After the drop, the button is taken as released: the next frame with it held is a new contact only once
    // the kernel reports it down again.
    expect(track([...press(1, 1), ev(EV.SYN, SYN.DROPPED, 0), syn(), ...at(50, 50)]).map((x) => x.phase)).toEqual([
      'down',
      'up',
    ]);
  });

  it('coordinates beyond the axis range are clamped to the screen', () => {
    const t = new TouchTracker(TABLET, 800, 480);
    const out = [
      ev(EV.ABS, ABS.X, -5_000_000),
      ev(EV.ABS, ABS.Y, 2_147_483_647),
      ev(EV.KEY, BTN_LEFT, 1),
      syn(),
    ].flatMap((e) => t.feed(e));
    expect(out).toEqual([{ kind: 'touch', phase: 'down', x: 0, y: 479, contacts: 1 }]);
  });
});

/** Every record an attacker might send, weighted towards the ones the tracker acts on. */
const hostileRecord: fc.Arbitrary<RawEvent> = fc.oneof(
  fc.record({
    sec: fc.constant(0),
    usec: fc.constant(0),
    type: fc.constant(EV.ABS),
    code: fc.constantFrom(ABS.X, ABS.Y, ABS.MT_SLOT, ABS.MT_POSITION_X, ABS.MT_POSITION_Y, ABS.MT_TRACKING_ID),
    value: fc.oneof(fc.integer({ min: -2, max: 40000 }), fc.integer(), fc.constantFrom(MAX_SLOTS, -1, 2 ** 31 - 1)),
  }),
  fc.record({
    sec: fc.constant(0),
    usec: fc.constant(0),
    type: fc.constant(EV.KEY),
    code: fc.constantFrom(BTN_LEFT, BTN_TOUCH, BTN_RIGHT, BTN_MIDDLE),
    value: fc.integer({ min: -1, max: 2 }),
  }),
  fc.record({
    sec: fc.constant(0),
    usec: fc.constant(0),
    type: fc.constant(EV.SYN),
    code: fc.constantFrom(SYN.REPORT, SYN.REPORT, SYN.REPORT, SYN.DROPPED),
    value: fc.constant(0),
  }),
  fc.record({
    sec: fc.integer(),
    usec: fc.integer(),
    type: fc.integer({ min: 0, max: 0xffff }),
    code: fc.integer({ min: 0, max: 0xffff }),
    value: fc.integer(),
  }),
);

/** Check that a stream of touch events is contacts one at a time: (down move* up)*, inside the screen. */
function wellFormed(out: readonly InputEvent[]): void {
  let down = false;
  for (const e of out) {
    expect(e.kind).toBe('touch');
    if (e.kind !== 'touch') return;
    expect(Number.isInteger(e.x) && e.x >= 0 && e.x <= 799).toBe(true);
    expect(Number.isInteger(e.y) && e.y >= 0 && e.y <= 479).toBe(true);
    expect(Number.isInteger(e.contacts) && e.contacts >= 0 && e.contacts <= MAX_SLOTS).toBe(true);
    if (e.phase === 'down') {
      expect(down).toBe(false);
      expect(e.contacts).toBeGreaterThanOrEqual(1);
      down = true;
    } else {
      expect(down).toBe(true);
      if (e.phase === 'up') down = false;
    }
  }
}

describe('hostile record streams', () => {
  it('any sequence of records: no throw, well-formed contacts, bounded state (property)', () => {
    fc.assert(
      fc.property(fc.array(hostileRecord, { maxLength: 400 }), (records) => {
        const t = new TouchTracker(TABLET, 800, 480);
        const out = records.flatMap((r) => t.feed(r));
        wellFormed(out);
        expect((t as unknown as { slots: Map<number, unknown> }).slots.size).toBeLessThanOrEqual(MAX_SLOTS);
      }),
      { numRuns: 400 },
    );
  });

  it('any bytes, split anywhere, through the parser and the tracker: no throw, well-formed (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 4000 }),
        fc.array(fc.nat(4000)),
        fc.constantFrom(16 as const, 24 as const),
        (raw, cuts, size) => {
          const parser = new EvdevParser(size);
          const t = new TouchTracker(TABLET, 800, 480);
          const points = [...new Set(cuts.map((c) => c % (raw.length + 1)))].sort((a, b) => a - b);
          const out: InputEvent[] = [];
          let from = 0;
          for (const p of [...points, raw.length]) {
            for (const r of parser.push(raw.subarray(from, p))) out.push(...t.feed(r));
            from = p;
          }
          wellFormed(out);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a million out-of-range slot ids keep no state', () => {
    const t = new TouchTracker(TABLET, 800, 480);
    for (let i = 0; i < 1_000_000; i++) {
      t.feed(ev(EV.ABS, ABS.MT_SLOT, MAX_SLOTS + i));
      t.feed(ev(EV.ABS, ABS.MT_TRACKING_ID, i));
    }
    expect(t.feed(syn())).toEqual([]);
    expect((t as unknown as { slots: Map<number, unknown> }).slots.size).toBe(0);
  });
});

describe('a tablet through a FIFO, driving the device UI', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'onepad-tablet-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function setup() {
    const s = await openTouchRig(dir, 'event3', { recordSize: 24, mapping: TABLET });
    const send = (records: RawEvent[]) => s.writer.write(bytes(records, 24));
    return { ...s, send };
  }

  it('hovering over Approve and a tap on it never approve; a hold does; a tap on Deny denies', async () => {
    const s = await setup();
    try {
      const [x, y] = s.centre('approve');
      await s.send([...at(x, y), ...at(x + 1, y), ...at(x, y + 1)]);
      await s.send([...press(x, y), ...release()]);
      await until(() => s.events.length === 2);
      s.clock.advance(5000);
      expect(s.actions).toEqual([]);
      await s.send(press(x, y));
      await until(() => s.events.length === 3);
      s.clock.advance(1100);
      expect(s.actions).toEqual([]);
      s.clock.advance(200);
      expect(s.actions.map((a) => a.button)).toEqual(['approve']);
      await s.send(release());
    } finally {
      await s.close();
    }
  });

  it('a hold that slides off Approve and back, or is dropped by the kernel, does not approve', async () => {
    const s = await setup();
    try {
      const [x, y] = s.centre('approve');
      await s.send([...press(x, y), ...at(x, 20), ...at(x, y)]);
      await until(() => s.events.length === 3);
      s.clock.advance(3000);
      await s.send(release());
      await until(() => s.events.length === 4);
      expect(s.actions).toEqual([]);
      await s.send([...press(x, y), ev(EV.SYN, SYN.DROPPED, 0), ...at(x, y)]);
      await until(() => s.events.length === 6);
      s.clock.advance(3000);
      expect(s.actions).toEqual([]);
      const [dx, dy] = s.centre('deny');
      await s.send([...press(dx, dy), ...release()]);
      await until(() => s.actions.length === 1);
      expect(s.actions[0]).toMatchObject({ button: 'deny' });
    } finally {
      await s.close();
    }
  });
});
