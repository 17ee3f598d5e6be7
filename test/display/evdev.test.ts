import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isOnepadError } from '../../device/errors.js';
import {
  EV,
  EvdevParser,
  EvdevTouch,
  encodeEvent,
  mapTouch,
  nativeRecordSize,
  SYN,
  type TouchMapping,
  TouchTracker,
} from '../../display/evdev.js';
import type { InputEvent } from '../../display/input.js';
import { bytes, down, move, up } from './evdev-frames.js';
import { openTouchRig, until } from './evdev-rig.js';

const IDENTITY: TouchMapping = {
  minX: 0,
  maxX: 799,
  minY: 0,
  maxY: 479,
  swapXY: false,
  invertX: false,
  invertY: false,
  rotation: 0,
};

function track(events: ReturnType<typeof down>, m = IDENTITY): InputEvent[] {
  const t = new TouchTracker(m, 800, 480);
  return events.flatMap((e) => t.feed(e));
}

describe('evdev parser', () => {
  it('decodes 24- and 16-byte records, including negative values', () => {
    for (const size of [24, 16] as const) {
      const e = { sec: 1_700_000_000, usec: 999_999, type: EV.ABS, code: 0x39, value: -1 };
      expect(new EvdevParser(size).push(encodeEvent(e, size))).toEqual([e]);
    }
    expect(nativeRecordSize()).toBe(24);
    expect(() => new EvdevParser(20 as 16)).toThrow(RangeError);
  });

  it('any split of the stream into reads gives the same records (property)', () => {
    const events = [...down(0, 7, 100, 200), ...move(0, 110, 210), ...up(0)];
    for (const size of [24, 16] as const) {
      const stream = bytes(events, size);
      fc.assert(
        fc.property(fc.array(fc.integer({ min: 1, max: stream.length }), { maxLength: 12 }), (cuts) => {
          const points = [...new Set(cuts)].sort((a, b) => a - b);
          const p = new EvdevParser(size);
          const got = [];
          let from = 0;
          for (const c of [...points, stream.length]) {
            got.push(...p.push(stream.subarray(from, c)));
            from = c;
          }
          expect(got).toEqual(events);
        }),
        { numRuns: 100 },
      );
    }
  });
});

describe('touch tracking', () => {
  it('one finger: down, move, up in screen pixels', () => {
    expect(track([...down(0, 1, 100, 200), ...move(0, 120, 220), ...up(0)])).toEqual([
      { kind: 'touch', phase: 'down', x: 100, y: 200, contacts: 1 },
      { kind: 'touch', phase: 'move', x: 120, y: 220, contacts: 1 },
      { kind: 'touch', phase: 'up', x: 120, y: 220, contacts: 0 },
    ]);
  });

  it('a second finger is counted, never becomes a press of its own, even after the first lifts', () => {
    const got = track([
      ...down(0, 1, 100, 100),
      ...down(1, 2, 700, 400, false),
      ...up(0, false),
      ...move(1, 690, 390),
      ...up(1),
      ...down(0, 3, 50, 60),
    ]);
    expect(got).toEqual([
      { kind: 'touch', phase: 'down', x: 100, y: 100, contacts: 1 },
      { kind: 'touch', phase: 'move', x: 100, y: 100, contacts: 2 },
      { kind: 'touch', phase: 'up', x: 100, y: 100, contacts: 1 },
      { kind: 'touch', phase: 'down', x: 50, y: 60, contacts: 1 },
    ]);
  });

  it('single-touch panels (ABS_X/Y + BTN_TOUCH) work too', () => {
    const ev = (type: number, code: number, value: number) => ({ sec: 0, usec: 0, type, code, value });
    const got = track([
      ev(EV.KEY, 0x14a, 1),
      ev(EV.ABS, 0, 300),
      ev(EV.ABS, 1, 100),
      ev(EV.SYN, 0, 0),
      ev(EV.KEY, 0x14a, 0),
      ev(EV.SYN, 0, 0),
    ]);
    expect(got.map((e) => e.kind === 'touch' && [e.phase, e.x, e.y])).toEqual([
      ['down', 300, 100],
      ['up', 300, 100],
    ]);
  });

  it('SYN_DROPPED ends the touch and skips to the next SYN_REPORT', () => {
    const ev = (type: number, code: number, value: number) => ({ sec: 0, usec: 0, type, code, value });
    const got = track([
      ...down(0, 1, 100, 100),
      ev(EV.SYN, SYN.DROPPED, 0),
      ...move(0, 500, 300),
      ...down(0, 2, 10, 20),
    ]);
    expect(got.map((e) => e.kind === 'touch' && e.phase)).toEqual(['down', 'up', 'down']);
  });

  it('maps ranges, swap, inversion and rotation', () => {
    const m = { ...IDENTITY, minX: 0, maxX: 4095, minY: 0, maxY: 4095 };
    expect(mapTouch(0, 0, m, 800, 480)).toEqual([0, 0]);
    expect(mapTouch(4095, 4095, m, 800, 480)).toEqual([799, 479]);
    expect(mapTouch(5000, -3, m, 800, 480)).toEqual([799, 0]);
    expect(mapTouch(4095, 0, { ...m, swapXY: true }, 800, 480)).toEqual([0, 479]);
    expect(mapTouch(0, 0, { ...m, invertX: true, invertY: true }, 800, 480)).toEqual([799, 479]);
    expect(mapTouch(0, 0, { ...m, rotation: 90 }, 800, 480)).toEqual([799, 0]);
    expect(mapTouch(0, 0, { ...m, rotation: 180 }, 800, 480)).toEqual([799, 479]);
    expect(mapTouch(0, 0, { ...m, rotation: 270 }, 800, 480)).toEqual([0, 479]);
  });
});

describe('evdev reader through a FIFO, driving the device UI', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'onepad-evdev-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const setup = (size: 16 | 24) => openTouchRig(dir, 'event0', { recordSize: size, mapping: IDENTITY });

  for (const size of [24, 16] as const) {
    it(`${size}-byte records, split across writes: a tap on Deny denies`, async () => {
      const s = await setup(size);
      try {
        const [x, y] = s.centre('deny');
        const stream = bytes([...down(0, 5, x, y), ...up(0)], size);
        // Split in the middle of a record, and again one byte before the end.
        await s.writer.write(stream.subarray(0, size + 5));
        await new Promise((r) => setTimeout(r, 20));
        await s.writer.write(stream.subarray(size + 5, stream.length - 1));
        await new Promise((r) => setTimeout(r, 20));
        expect(s.actions).toEqual([]);
        await s.writer.write(stream.subarray(stream.length - 1));
        await until(() => s.actions.length === 1);
        expect(s.actions[0]).toMatchObject({ screen: 'confirm-decrypt', button: 'deny', instance: s.ui.instance });
      } finally {
        await s.close();
      }
    });
  }

  it('a tap on Approve never approves, however long one waits; holding it does', async () => {
    const s = await setup(24);
    try {
      const [x, y] = s.centre('approve');
      await s.writer.write(bytes([...down(0, 1, x, y), ...up(0)], 24));
      await until(() => s.events.length === 2);
      s.clock.advance(5000);
      expect(s.actions).toEqual([]);
      // Two quick taps are not a hold either.
      await s.writer.write(bytes([...down(0, 2, x, y), ...up(0), ...down(0, 3, x, y), ...up(0)], 24));
      await until(() => s.events.length === 6);
      s.clock.advance(5000);
      expect(s.actions).toEqual([]);
      // A hold of 1.2 s approves.
      await s.writer.write(bytes(down(0, 4, x, y), 24));
      await until(() => s.events.length === 7);
      s.clock.advance(1100);
      expect(s.actions).toEqual([]);
      s.clock.advance(200);
      expect(s.actions.map((a) => a.button)).toEqual(['approve']);
    } finally {
      await s.close();
    }
  });

  it('a hold cancelled by a second finger or by sliding off Approve does not approve', async () => {
    const s = await setup(24);
    try {
      const [x, y] = s.centre('approve');
      await s.writer.write(bytes([...down(0, 1, x, y), ...down(1, 2, 100, 100, false)], 24));
      await until(() => s.events.length === 2);
      s.clock.advance(3000);
      await s.writer.write(bytes([...up(1, false), ...up(0)], 24));
      expect(s.actions).toEqual([]);
      await s.writer.write(bytes([...down(0, 3, x, y), ...move(0, x, 100)], 24));
      await until(() => s.events.length === 6);
      s.clock.advance(3000);
      expect(s.actions).toEqual([]);
    } finally {
      await s.close();
    }
  });

  it('INPUT_UNAVAILABLE when the device does not exist', async () => {
    const e = await EvdevTouch.open(join(dir, 'missing'), {
      recordSize: 24,
      mapping: IDENTITY,
      width: 800,
      height: 480,
    }).catch((err: unknown) => err);
    expect(isOnepadError(e, 'INPUT_UNAVAILABLE')).toBe(true);
  });
});

// Real hardware, only when a device is named: ONEPAD_TOUCH=/dev/input/event0 npx vitest run test/display/evdev.test.ts
describe.runIf(process.env.ONEPAD_TOUCH)('real touchscreen (ONEPAD_TOUCH)', () => {
  it('opens and closes the named device', async () => {
    const t = await EvdevTouch.open(process.env.ONEPAD_TOUCH ?? '', {
      recordSize: nativeRecordSize(),
      mapping: IDENTITY,
      width: 800,
      height: 480,
    });
    await t.close();
  });
});
