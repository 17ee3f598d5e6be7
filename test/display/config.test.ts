import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../device/config/config.js';
import { isOnepadError } from '../../device/errors.js';
import { ManualClock } from '../../display/clock.js';
import { LAYOUTS } from '../../display/layout.js';
import { deviceUiOptions, openInput, openSink } from '../../display/open.js';
import { SimInput } from '../../display/sim-input.js';
import { SimSink } from '../../display/sim-sink.js';

describe('display config section', () => {
  it('fills every default', () => {
    const d = parseConfig({ dataDir: '/tmp/x' }).display;
    expect(d).toMatchObject({
      layout: 'touch-800x480',
      sink: 'fbdev',
      input: 'touch',
      approveGesture: 'hold',
      holdMs: 1200,
      framebuffer: { device: '/dev/fb0' },
      st7789: { dcPin: 25, rstPin: 27, backlightPin: 24, width: 240, height: 240, madctl: 0x70 },
      touch: { device: '/dev/input/event0', recordSize: 0, maxX: 799, maxY: 479, rotation: 0 },
      keys: {
        pins: { key1: 21, key2: 20, key3: 16, up: 6, down: 19, left: 5, right: 26, press: 13 },
        gpioBase: -1,
        debounceMs: 20,
      },
    });
    expect(Object.isFrozen(d.keys.pins)).toBe(true);
  });

  it('rejects unknown fields and bad values, naming the field', () => {
    const bad = (display: unknown) => {
      try {
        parseConfig({ dataDir: '/tmp/x', display });
        return null;
      } catch (e) {
        expect(isOnepadError(e, 'CONFIG_INVALID')).toBe(true);
        return (e as { details: { field: string } }).details.field;
      }
    };
    expect(bad({ colour: 'red' })).toBe('display.colour');
    expect(bad({ layout: '1024x600' })).toBe('display.layout');
    expect(bad({ holdMs: 100 })).toBe('display.holdMs');
    expect(bad({ keys: { pins: { key1: 60 } } })).toBe('display.keys.pins.key1');
    expect(bad({ touch: { rotation: 45 } })).toBe('display.touch.rotation');
    expect(bad({ framebuffer: { device: '/etc/passwd' } })).toBe('display.framebuffer.device');
    expect(bad({ layout: 'keys-240x240', sink: 'st7789', input: 'keys' })).toBeNull();
  });
});

describe('opening sinks and inputs from the config', () => {
  const base = parseConfig({ dataDir: '/tmp/x' }).display;

  it('the device UI takes its band from the device section and INSECURE from simulated', () => {
    const cfg = parseConfig({
      dataDir: '/tmp/x',
      device: { name: 'desk', ownerWord: 'otter', simulated: true },
      display: { layout: 'keys-240x240', approveGesture: 'second-tap' },
    });
    const o = deviceUiOptions(cfg, new SimSink(240, 240), new ManualClock());
    expect(o.chrome).toEqual({ deviceName: 'desk', ownerWord: 'otter', insecure: true });
    expect(o.layout.id).toBe('keys-240x240');
    expect(o.gesture).toBe('second-tap');
  });

  it('sim gives the simulated sink and input', async () => {
    const sink = await openSink({ ...base, sink: 'sim' }, LAYOUTS['keys-240x240']);
    expect(sink).toBeInstanceOf(SimSink);
    expect([sink.width, sink.height]).toEqual([240, 240]);
    expect(await openInput({ ...base, input: 'sim' }, LAYOUTS['keys-240x240'], new ManualClock())).toBeInstanceOf(
      SimInput,
    );
  });

  // This kernel has no framebuffer, input devices or GPIO: opening them must fail with the registry's codes.
  it.skipIf(existsSync('/sys/class/graphics/fb0'))('fbdev without a framebuffer: DISPLAY_UNAVAILABLE', async () => {
    const e = await openSink(base, LAYOUTS['touch-800x480']).catch((err: unknown) => err);
    expect(isOnepadError(e, 'DISPLAY_UNAVAILABLE')).toBe(true);
  });

  it.skipIf(existsSync('/dev/input/event9'))('touch without the device: INPUT_UNAVAILABLE', async () => {
    const cfg = { ...base, touch: { ...base.touch, device: '/dev/input/event9' } };
    const e = await openInput(cfg, LAYOUTS['touch-800x480'], new ManualClock()).catch((err: unknown) => err);
    expect(isOnepadError(e, 'INPUT_UNAVAILABLE')).toBe(true);
  });

  it.skipIf(existsSync('/sys/class/gpio'))('keys without a GPIO chip: INPUT_UNAVAILABLE', async () => {
    const e = await openInput({ ...base, input: 'keys' }, LAYOUTS['keys-240x240'], new ManualClock()).catch(
      (err: unknown) => err,
    );
    expect(isOnepadError(e, 'INPUT_UNAVAILABLE')).toBe(true);
  });
});
