/**
 * Display benchmark: time from a confirmation request to its pixels written, for confirm-encrypt at 800x480
 * (framebuffer, 16 and 32 bpp) and 240x240 (ST7789 over a null SPI bus), split into render, convert and write.
 * The framebuffer is a regular file in a temp dir with a fake sysfs geometry; the SPI figure excludes wire
 * time, which is given separately as an estimate from the configured clock.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EncryptRequest } from '../device/confirm.js';
import { systemClock } from '../display/clock.js';
import { ConfirmService } from '../display/confirm-service.js';
import { FramebufferSink } from '../display/fbdev.js';
import type { OutputPins, Spi } from '../display/hw.js';
import { KEYS_240x240, type Layout, TOUCH_800x480 } from '../display/layout.js';
import { rgbaToRgb565, rgbaToXrgb8888 } from '../display/pixels.js';
import { initialInteraction, type ScreenState } from '../display/screen-types.js';
import { render } from '../display/screens/index.js';
import type { Frame, Sink } from '../display/sink.js';
import { St7789Sink } from '../display/st7789.js';
import { DeviceUi } from '../display/ui.js';
import type { Reporter } from './report.js';

const RUNS = 30;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

const text =
  'Meet at the north gate at 17:30. Bring the second key and the envelope; do not call, I will find you there.';

function request(): EncryptRequest {
  const plaintext = new TextEncoder().encode(text);
  return {
    kind: 'encrypt',
    contact: 'alice',
    plaintext,
    cost: plaintext.length + 32,
    remainingAfter: 1_047_900,
    messagesLeftAfter: 5_457,
    fingerprint: '3fa291bc0e7d55aa',
    insecure: false,
  };
}

function state(): ScreenState {
  const plaintext = new TextEncoder().encode(text);
  return {
    id: 'confirm-encrypt',
    contact: 'alice',
    message: plaintext,
    cost: plaintext.length + 32,
    remainingAfter: 1_047_900,
    messagesLeftAfter: 5_457,
    fingerprint: '3fa291bc0e7d55aa',
    deadline: Date.now() + 60_000,
    queued: 0,
    chrome: { deviceName: 'onepad', ownerWord: 'heron', insecure: false },
    ui: initialInteraction('hold'),
    instance: 1,
    now: Date.now(),
  };
}

async function fbSink(dir: string, layout: Layout, bpp: 16 | 32): Promise<Sink> {
  const sys = join(dir, `sys${bpp}`, 'fb0');
  mkdirSync(sys, { recursive: true });
  const stride = (layout.width * bpp) / 8;
  writeFileSync(join(sys, 'virtual_size'), `${layout.width},${layout.height}`);
  writeFileSync(join(sys, 'bits_per_pixel'), String(bpp));
  writeFileSync(join(sys, 'stride'), String(stride));
  mkdirSync(join(dir, `dev${bpp}`), { recursive: true });
  const dev = join(dir, `dev${bpp}`, 'fb0');
  writeFileSync(dev, Buffer.alloc(stride * layout.height));
  return FramebufferSink.open(dev, { sysfsRoot: join(dir, `sys${bpp}`), width: layout.width, height: layout.height });
}

function nullPanel(): St7789Sink {
  const spi: Spi = { write: () => {}, close: () => {} };
  const pins: OutputPins = { setup: () => {}, write: () => {}, close: () => {} };
  return new St7789Sink(spi, pins, {
    dcPin: 25,
    rstPin: 27,
    backlightPin: 24,
    width: 240,
    height: 240,
    xOffset: 0,
    yOffset: 0,
    madctl: 0x70,
  });
}

/** Request -> confirmation service -> device UI -> render -> sink.write resolved. */
async function endToEnd(layout: Layout, sink: Sink): Promise<number> {
  const times: number[] = [];
  let written: (() => void) | null = null;
  const timed: Sink = {
    width: sink.width,
    height: sink.height,
    write: async (f: Frame) => {
      await sink.write(f);
      written?.();
    },
    close: () => sink.close(),
  };
  const clock = systemClock();
  const ui = new DeviceUi({
    layout,
    sink: timed,
    clock,
    chrome: { deviceName: 'onepad', ownerWord: 'heron', insecure: false },
    gesture: 'hold',
    holdMs: 1200,
    secondTapMs: 3000,
  });
  const service = new ConfirmService({
    ui,
    clock,
    config: { timeoutMs: 60_000, queueLength: 4 },
    onIdle: () =>
      ui.show({ id: 'home', contacts: [], hrng: { healthy: true, poolBytes: 0, poolCapacity: 1 }, warnings: [] }),
  });
  for (let i = 0; i < RUNS + 3; i++) {
    await ui.flush();
    const done = new Promise<void>((r) => {
      written = r;
    });
    const t0 = performance.now();
    const decision = service.confirm(request());
    await done;
    const t = performance.now() - t0;
    written = null;
    if (i >= 3) times.push(t);
    // Deny through the screen's own button, as the user would.
    const deny = ui.debugLayout()?.buttons.find((b) => b.id === 'deny');
    if (deny) {
      ui.input({ kind: 'touch', phase: 'down', x: deny.box.x + 5, y: deny.box.y + 5, contacts: 1 });
      ui.input({ kind: 'touch', phase: 'up', x: deny.box.x + 5, y: deny.box.y + 5, contacts: 0 });
    }
    await decision;
  }
  await ui.close();
  service.close();
  return median(times);
}

export async function run(report: Reporter): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'onepad-bench-display-'));
  try {
    for (const layout of [TOUCH_800x480, KEYS_240x240]) {
      const size = `${layout.width}x${layout.height}`;
      const renders: number[] = [];
      let frame = render(state(), layout);
      // Warm up: the first renders load glyphs and compile the hot paths.
      for (let i = 0; i < 10; i++) frame = render(state(), layout);
      for (let i = 0; i < RUNS; i++) {
        const t0 = performance.now();
        frame = render(state(), layout);
        renders.push(performance.now() - t0);
      }
      report.figure({ bench: 'display', name: `render confirm-encrypt ${size}`, value: median(renders), unit: 'ms' });
      const convert = (f: () => void) => {
        const ts: number[] = [];
        for (let i = 0; i < 5; i++) f();
        for (let i = 0; i < RUNS; i++) {
          const t0 = performance.now();
          f();
          ts.push(performance.now() - t0);
        }
        return median(ts);
      };
      const { width: w, height: h } = layout;
      report.figure({
        bench: 'display',
        name: `convert RGBA->RGB565 ${size}`,
        value: convert(() => rgbaToRgb565(frame.pixels, w, h, false)),
        unit: 'ms',
      });
      report.figure({
        bench: 'display',
        name: `convert RGBA->XRGB8888 ${size}`,
        value: convert(() => rgbaToXrgb8888(frame.pixels, w, h)),
        unit: 'ms',
      });
    }

    for (const bpp of [16, 32] as const) {
      const sink = await fbSink(dir, TOUCH_800x480, bpp);
      const frame = render(state(), TOUCH_800x480);
      const ts: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const t0 = performance.now();
        await sink.write(frame);
        ts.push(performance.now() - t0);
      }
      report.figure({
        bench: 'display',
        name: `fbdev write (convert+pwrite) 800x480 ${bpp} bpp`,
        value: median(ts),
        unit: 'ms',
        note: 'regular file in tmp',
      });
      report.figure({
        bench: 'display',
        name: `request -> pixels written, 800x480 fbdev ${bpp} bpp`,
        value: await endToEnd(TOUCH_800x480, sink),
        unit: 'ms',
        note: 'confirm() to sink.write resolved',
      });
      await sink.close();
    }

    const panel = nullPanel();
    report.figure({
      bench: 'display',
      name: 'request -> pixels written, 240x240 ST7789',
      value: await endToEnd(KEYS_240x240, panel),
      unit: 'ms',
      note: 'null SPI bus: excludes wire time',
    });
    const divider = 16;
    const wire = (240 * 240 * 2 * 8) / (250e6 / divider);
    report.figure({
      bench: 'display',
      name: 'ST7789 SPI wire time per frame (computed, not measured)',
      value: wire * 1000,
      unit: 'ms',
      note: `115200 bytes at 250 MHz/${divider}`,
    });
    report.info('display: the Pi figures will differ; these are this machine with a file as the framebuffer');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
