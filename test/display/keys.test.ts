import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isOnepadError } from '../../device/errors.js';
import { ManualClock } from '../../display/clock.js';
import { findGpioBase, listGpioChips } from '../../display/gpio-base.js';
import type { InputPin, InputPins, Level } from '../../display/hw.js';
import type { InputEvent } from '../../display/input.js';
import { GpioKeys } from '../../display/keys.js';
import { KEYS_240x240 } from '../../display/layout.js';
import { SimSink } from '../../display/sim-sink.js';
import { DeviceUi, type UiAction } from '../../display/ui.js';
import { CHROME } from './states.js';

const PINS = { key1: 21, key2: 20, key3: 16, up: 6, down: 19, left: 5, right: 26, press: 13 };

/** Fake input pins: all idle high (active-low keys); `set` changes a level and fires the edge callback. */
function fakePins() {
  const levels = new Map<number, Level>();
  const watchers = new Map<number, (l: Level) => void>();
  const opened: number[] = [];
  const closed: number[] = [];
  const gpio: InputPins = {
    open(pin): InputPin {
      opened.push(pin);
      levels.set(pin, 1);
      return {
        read: () => levels.get(pin) ?? 1,
        watch: (cb) => watchers.set(pin, cb),
        close: () => closed.push(pin),
      };
    },
  };
  const set = (pin: number, level: Level) => {
    levels.set(pin, level);
    watchers.get(pin)?.(level);
  };
  return { gpio, set, opened, closed };
}

describe('GPIO keys', () => {
  const timing = { debounceMs: 20, repeatDelayMs: 500, repeatIntervalMs: 150 };

  it('opens the HAT pins, reports active-low presses after debouncing, ignores bounces', async () => {
    const clock = new ManualClock();
    const hw = fakePins();
    const keys = new GpioKeys(PINS, hw.gpio, clock, timing);
    expect(hw.opened.sort((a, b) => a - b)).toEqual([5, 6, 13, 16, 19, 20, 21, 26]);
    const got: InputEvent[] = [];
    keys.onInput((e) => got.push(e));
    // Bounce: low, high, low within the debounce time: one press.
    hw.set(16, 0);
    clock.advance(5);
    hw.set(16, 1);
    clock.advance(5);
    hw.set(16, 0);
    clock.advance(19);
    expect(got).toEqual([]);
    clock.advance(1);
    expect(got).toEqual([{ kind: 'key', key: 'key3', phase: 'down' }]);
    // A glitch shorter than the debounce time while held: nothing.
    hw.set(16, 1);
    clock.advance(3);
    hw.set(16, 0);
    clock.advance(50);
    expect(got).toHaveLength(1);
    hw.set(16, 1);
    clock.advance(20);
    expect(got.at(-1)).toEqual({ kind: 'key', key: 'key3', phase: 'up' });
    await keys.close();
    expect(hw.closed).toHaveLength(8);
  });

  it('repeats a held key after the delay, every interval, until released', () => {
    const clock = new ManualClock();
    const hw = fakePins();
    const keys = new GpioKeys(PINS, hw.gpio, clock, timing);
    const got: string[] = [];
    keys.onInput((e) => got.push(e.kind === 'key' ? `${e.key}:${e.phase}` : 'touch'));
    hw.set(19, 0);
    clock.advance(20 + 499);
    expect(got).toEqual(['down:down']);
    clock.advance(1);
    clock.advance(300);
    expect(got).toEqual(['down:down', 'down:repeat', 'down:repeat', 'down:repeat']);
    hw.set(19, 1);
    clock.advance(1000);
    expect(got.at(-1)).toBe('down:up');
    expect(got).toHaveLength(5);
  });

  it('with debounce 0 every settled edge is reported at once', () => {
    const clock = new ManualClock();
    const hw = fakePins();
    const keys = new GpioKeys(PINS, hw.gpio, clock, { ...timing, debounceMs: 0 });
    const got: string[] = [];
    keys.onInput((e) => got.push(e.kind === 'key' ? `${e.key}:${e.phase}` : 'touch'));
    hw.set(21, 0);
    hw.set(21, 1);
    expect(got).toEqual(['key1:down', 'key1:up']);
  });
});

describe('GPIO base detection', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'onepad-gpio-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function chip(root: string, base: number, label: string, ngpio: number) {
    const d = join(root, `gpiochip${base}`);
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, 'base'), `${base}\n`);
    writeFileSync(join(d, 'label'), `${label}\n`);
    writeFileSync(join(d, 'ngpio'), `${ngpio}\n`);
  }

  it('kernel before 6.6 (Pi 3): the BCM chip at 0', async () => {
    chip(dir, 0, 'pinctrl-bcm2835', 54);
    chip(dir, 504, 'raspberrypi-exp-gpio', 8);
    writeFileSync(join(dir, 'export'), '');
    expect(await findGpioBase(dir)).toBe(0);
  });

  it('kernel 6.6 and later (Pi 4): the BCM2711 chip at 512, not the expander', async () => {
    chip(dir, 512, 'pinctrl-bcm2711', 58);
    chip(dir, 570, 'raspberrypi-exp-gpio', 8);
    expect(await findGpioBase(dir)).toBe(512);
  });

  it('Pi 5: the RP1 chip, wherever it is numbered', async () => {
    chip(dir, 512, 'gpio-brcmstb@107d508500', 32);
    chip(dir, 544, 'gpio-brcmstb@107d517c00', 15);
    chip(dir, 571, 'pinctrl-rp1', 54);
    expect(await findGpioBase(dir)).toBe(571);
    expect((await listGpioChips(dir)).map((c) => c.base)).toEqual([512, 544, 571]);
  });

  it('INPUT_UNAVAILABLE when no Pi chip is there (or no sysfs gpio at all)', async () => {
    chip(dir, 0, 'gpio-mockup-A', 8);
    mkdirSync(join(dir, 'gpiochip9'));
    const e = await findGpioBase(dir).catch((err: unknown) => err);
    expect(isOnepadError(e, 'INPUT_UNAVAILABLE')).toBe(true);
    const e2 = await findGpioBase(join(dir, 'absent')).catch((err: unknown) => err);
    expect(isOnepadError(e2, 'INPUT_UNAVAILABLE')).toBe(true);
  });
});

describe('keys drive the 240x240 UI', () => {
  function setup(gesture: 'hold' | 'second-tap' = 'hold') {
    const clock = new ManualClock(1_000_000);
    const hw = fakePins();
    const keys = new GpioKeys(PINS, hw.gpio, clock, { debounceMs: 10, repeatDelayMs: 400, repeatIntervalMs: 100 });
    const ui = new DeviceUi({
      layout: KEYS_240x240,
      sink: new SimSink(240, 240),
      clock,
      chrome: CHROME,
      gesture,
      holdMs: 1000,
      secondTapMs: 2000,
    });
    ui.attach(keys);
    const actions: UiAction[] = [];
    ui.onAction((a) => actions.push(a));
    const press = (pin: number, ms: number) => {
      hw.set(pin, 0);
      clock.advance(ms);
      hw.set(pin, 1);
      clock.advance(10);
    };
    return { clock, hw, ui, actions, press };
  }

  it('KEY3 must be held to approve; a press with key repeat running is not enough if released early', () => {
    const s = setup();
    s.ui.show({ id: 'confirm-decrypt', contact: 'bob', length: 5, deadline: 1_060_000, queued: 0 });
    s.press(16, 800);
    expect(s.actions).toEqual([]);
    s.hw.set(16, 0);
    s.clock.advance(10 + 1000);
    expect(s.actions.map((a) => a.button)).toEqual(['approve']);
  });

  it('KEY2 denies at once; the joystick pages and KEY1 is More', () => {
    const s = setup();
    const long = new TextEncoder().encode('word '.repeat(200));
    s.ui.show({
      id: 'confirm-encrypt',
      contact: 'alice',
      message: long,
      cost: long.length + 32,
      remainingAfter: 1000,
      messagesLeftAfter: 5,
      fingerprint: 'ab12',
      deadline: 1_060_000,
      queued: 0,
    });
    const pages = s.ui.debugLayout()?.pages ?? 0;
    expect(pages).toBeGreaterThan(2);
    // Approve is disabled until every page was seen: holding KEY3 does nothing.
    s.hw.set(16, 0);
    s.clock.advance(3000);
    s.hw.set(16, 1);
    s.clock.advance(10);
    expect(s.actions).toEqual([]);
    s.press(19, 20); // joystick down: page 2
    expect(s.ui.state?.ui.page).toBe(1);
    s.press(6, 20); // joystick up: back to page 1
    expect(s.ui.state?.ui.page).toBe(0);
    for (let i = 1; i < pages; i++) s.press(21, 20); // KEY1 = More
    expect(s.ui.state?.ui.seenPage).toBe(pages - 1);
    expect(s.ui.debugLayout()?.buttons.find((b) => b.id === 'approve')?.enabled).toBe(true);
    s.press(20, 20);
    expect(s.actions.map((a) => a.button)).toEqual(['deny']);
  });

  it('second-tap mode: KEY3 twice approves, once does not, and the arming expires', () => {
    const s = setup('second-tap');
    s.ui.show({ id: 'confirm-decrypt', contact: 'bob', length: 5, deadline: 1_060_000, queued: 0 });
    s.press(16, 20);
    expect(s.ui.debugLayout()?.buttons.find((b) => b.id === 'approve')?.label).toBe('Again!');
    s.clock.advance(2500);
    expect(s.ui.debugLayout()?.buttons.find((b) => b.id === 'approve')?.label).toBe('Approve');
    s.press(16, 20);
    expect(s.actions).toEqual([]);
    s.press(16, 20);
    expect(s.actions.map((a) => a.button)).toEqual(['approve']);
  });
});
