import type { Config } from '../device/config/config.js';
import type { Clock } from './clock.js';
import type { DisplayConfig } from './config-section.js';
import { EvdevTouch, nativeRecordSize } from './evdev.js';
import { FramebufferSink } from './fbdev.js';
import { findGpioBase } from './gpio-base.js';
import { realSleep } from './hw.js';
import type { InputSource } from './input.js';
import { GpioKeys } from './keys.js';
import type { Layout } from './layout.js';
import { LAYOUTS } from './layout.js';
import { SimInput } from './sim-input.js';
import { SimSink } from './sim-sink.js';
import type { Sink } from './sink.js';
import { St7789Sink } from './st7789.js';
import type { DeviceUiOptions } from './ui.js';

/**
 * Open the sink the config names. The ST7789 path loads rpio, so it only works on a Pi.
 * @throws OnepadError DISPLAY_UNAVAILABLE when the framebuffer cannot be used
 */
export async function openSink(cfg: DisplayConfig, layout: Layout): Promise<Sink> {
  if (cfg.sink === 'sim') return new SimSink(layout.width, layout.height);
  if (cfg.sink === 'fbdev') {
    return FramebufferSink.open(cfg.framebuffer.device, { width: layout.width, height: layout.height });
  }
  const { openRpio } = await import('./rpio-hw.js');
  const { spi, pins } = await openRpio(cfg.st7789.chipSelect, cfg.st7789.clockDivider);
  const panel = new St7789Sink(spi, pins, cfg.st7789);
  await panel.init(realSleep);
  return panel;
}

/**
 * Open the input the config names. The keys path loads onoff, so it only works on a Pi.
 * @throws OnepadError INPUT_UNAVAILABLE when the touch device cannot be opened or the GPIO base is not found
 */
export async function openInput(cfg: DisplayConfig, layout: Layout, clock: Clock): Promise<InputSource> {
  if (cfg.input === 'sim') return new SimInput();
  if (cfg.input === 'touch') {
    const t = cfg.touch;
    return EvdevTouch.open(t.device, {
      recordSize: t.recordSize === 0 ? nativeRecordSize() : t.recordSize,
      mapping: t,
      width: layout.width,
      height: layout.height,
    });
  }
  const base = cfg.keys.gpioBase >= 0 ? cfg.keys.gpioBase : await findGpioBase();
  const { openOnoffInputs } = await import('./onoff-hw.js');
  return new GpioKeys(cfg.keys.pins, await openOnoffInputs(base), clock, cfg.keys);
}

/**
 * The device UI's options from the whole config: the layout and gesture from `display`, the trusted band from
 * `device` (name, owner's word), and INSECURE on every screen when the device is simulated.
 */
export function deviceUiOptions(config: Config, sink: Sink, clock: Clock): DeviceUiOptions {
  return {
    layout: LAYOUTS[config.display.layout],
    sink,
    clock,
    chrome: { deviceName: config.device.name, ownerWord: config.device.ownerWord, insecure: config.device.simulated },
    gesture: config.display.approveGesture,
    holdMs: config.display.holdMs,
    secondTapMs: config.display.secondTapMs,
  };
}
