import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isOnepadError } from '../../device/errors.js';
import { FramebufferSink, readFbGeometry } from '../../display/fbdev.js';
import type { Level, OutputPins, Spi } from '../../display/hw.js';
import { KEYS_240x240, TOUCH_800x480 } from '../../display/layout.js';
import { rgb565ToRgba } from '../../display/pixels.js';
import { render } from '../../display/screens/index.js';
import { SimSink } from '../../display/sim-sink.js';
import type { Sink } from '../../display/sink.js';
import { ST7789, St7789Sink } from '../../display/st7789.js';
import { FIXTURES, stateOf } from './states.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'onepad-fb-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A fake /sys/class/graphics/fb0 and a regular file standing in for /dev/fb0. */
function fakeFb(width: number, height: number, bpp: number, stride: number, size = stride * height): string {
  const sys = join(dir, 'sys', 'fb0');
  mkdirSync(sys, { recursive: true });
  writeFileSync(join(sys, 'virtual_size'), `${width},${height}\n`);
  writeFileSync(join(sys, 'bits_per_pixel'), `${bpp}\n`);
  writeFileSync(join(sys, 'stride'), `${stride}\n`);
  const dev = join(dir, 'fb0');
  writeFileSync(dev, Buffer.alloc(size, 0xaa));
  return dev;
}

/** Pixels whose RGB565-precision channels differ between a decoded frame and the drawn one. */
function mismatches565(got: Uint8ClampedArray, want: Uint8ClampedArray): number {
  let bad = 0;
  for (let i = 0; i < want.length; i += 4) {
    if (
      got[i]! >> 3 !== want[i]! >> 3 ||
      got[i + 1]! >> 2 !== want[i + 1]! >> 2 ||
      got[i + 2]! >> 3 !== want[i + 2]! >> 3
    )
      bad++;
  }
  return bad;
}

const confirm = render(stateOf(FIXTURES[0]!), TOUCH_800x480);

describe('framebuffer sink', () => {
  it('16 bpp (RGB565 little-endian): what was written decodes to what was drawn', async () => {
    const dev = fakeFb(800, 480, 16, 1600);
    const sink = await FramebufferSink.open(dev, { sysfsRoot: join(dir, 'sys'), width: 800, height: 480 });
    expect(sink.geometry.format).toBe('rgb565le');
    await sink.write(confirm);
    await sink.close();
    const got = rgb565ToRgba(readFileSync(dev), 800, 480, false);
    expect(mismatches565(got, confirm.pixels)).toBe(0);
  });

  it('32 bpp (XRGB8888) with a padded stride: exact pixels, padding zero', async () => {
    const stride = 800 * 4 + 64;
    const dev = fakeFb(800, 480, 32, stride);
    const sink = await FramebufferSink.open(dev, { sysfsRoot: join(dir, 'sys'), width: 800, height: 480 });
    expect(sink.geometry).toMatchObject({ width: 800, height: 480, stride, bitsPerPixel: 32, format: 'xrgb8888' });
    await sink.write(confirm);
    await sink.close();
    const data = readFileSync(dev);
    for (let y = 0; y < 480; y += 7) {
      for (let x = 0; x < 800; x += 3) {
        const o = y * stride + x * 4;
        const s = (y * 800 + x) * 4;
        expect([data[o + 2], data[o + 1], data[o], data[o + 3]]).toEqual([
          confirm.pixels[s],
          confirm.pixels[s + 1],
          confirm.pixels[s + 2],
          255,
        ]);
      }
      expect(data[y * stride + 800 * 4]).toBe(0);
    }
  });

  it('a larger framebuffer takes the frame at its top-left', async () => {
    const small = render(stateOf(FIXTURES[0]!), KEYS_240x240);
    const dev = fakeFb(320, 240, 16, 640);
    const sink = await FramebufferSink.open(dev, { sysfsRoot: join(dir, 'sys'), width: 240, height: 240 });
    await sink.write(small);
    await sink.close();
    const got = rgb565ToRgba(readFileSync(dev), 240, 240, false, 640);
    expect(got[0]! >> 3).toBe(small.pixels[0]! >> 3);
    expect(got[(239 * 240 + 239) * 4 + 1]! >> 2).toBe(small.pixels[(239 * 240 + 239) * 4 + 1]! >> 2);
  });

  it('DISPLAY_UNAVAILABLE for an unsupported depth, missing sysfs, a too small device or a wrong frame', async () => {
    const code = async (p: Promise<unknown>, reason: string) => {
      const e = await p.then(
        () => null,
        (err: unknown) => err,
      );
      expect(isOnepadError(e, 'DISPLAY_UNAVAILABLE')).toBe(true);
      expect((e as { details: { reason: string } }).details.reason).toBe(reason);
    };
    await code(readFbGeometry(join(dir, 'nothing')), 'sysfs');
    const dev = fakeFb(800, 480, 24, 2400);
    await code(FramebufferSink.open(dev, { sysfsRoot: join(dir, 'sys'), width: 800, height: 480 }), 'depth');
    fakeFb(640, 480, 16, 1280);
    await code(FramebufferSink.open(dev, { sysfsRoot: join(dir, 'sys'), width: 800, height: 480 }), 'size');
    fakeFb(800, 480, 16, 1600, 1000);
    await code(FramebufferSink.open(dev, { sysfsRoot: join(dir, 'sys'), width: 800, height: 480 }), 'size');
    writeFileSync(join(dir, 'sys', 'fb0', 'virtual_size'), 'garbage');
    await code(readFbGeometry(join(dir, 'sys', 'fb0')), 'sysfs');
    fakeFb(800, 480, 16, 1600);
    const sink = await FramebufferSink.open(dev, { sysfsRoot: join(dir, 'sys'), width: 800, height: 480 });
    await code(sink.write(render(stateOf(FIXTURES[0]!), KEYS_240x240)), 'size');
    await sink.close();
    await code(sink.write(confirm), 'closed');
  });
});

/** Fakes that record every SPI transfer together with the DC level it was sent at. */
function recordingHw() {
  const log: { op: string; pin?: number; level?: Level; data?: number[] }[] = [];
  const levels = new Map<number, Level>();
  const transfers: { dc: Level; data: Uint8Array }[] = [];
  const pins: OutputPins = {
    setup: (pin) => {
      log.push({ op: 'setup', pin });
      levels.set(pin, 0);
    },
    write: (pin, level) => {
      log.push({ op: 'write', pin, level });
      levels.set(pin, level);
    },
    close: () => log.push({ op: 'close-pins' }),
  };
  const spi: Spi = {
    write: (data) => transfers.push({ dc: levels.get(25) ?? 0, data: new Uint8Array(data) }),
    close: () => log.push({ op: 'close-spi' }),
  };
  return { log, levels, transfers, pins, spi };
}

const PANEL = {
  dcPin: 25,
  rstPin: 27,
  backlightPin: 24,
  width: 240,
  height: 240,
  xOffset: 0,
  yOffset: 0,
  madctl: 0x70,
};

describe('ST7789 sink', () => {
  it('init: reset pulse, then SWRESET, SLPOUT, COLMOD 0x55, MADCTL, INVON, NORON, DISPON, backlight on', async () => {
    const hw = recordingHw();
    const panel = new St7789Sink(hw.spi, hw.pins, PANEL);
    const sleeps: number[] = [];
    await panel.init(async (ms) => {
      sleeps.push(ms);
    });
    const commands = hw.transfers.filter((t) => t.dc === 0).map((t) => t.data[0]);
    expect(commands).toEqual([
      ST7789.SWRESET,
      ST7789.SLPOUT,
      ST7789.COLMOD,
      ST7789.MADCTL,
      ST7789.INVON,
      ST7789.NORON,
      ST7789.DISPON,
    ]);
    const params = hw.transfers.filter((t) => t.dc === 1).map((t) => [...t.data]);
    expect(params).toEqual([[0x55], [0x70]]);
    const rst = hw.log.filter((l) => l.op === 'write' && l.pin === 27).map((l) => l.level);
    expect(rst).toEqual([1, 0, 1]);
    expect(hw.levels.get(24)).toBe(1);
    expect(sleeps.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(120 + 150 + 120);
  });

  it('write: address window with offsets, RAMWR, then every pixel as RGB565 big-endian in chunks', async () => {
    const hw = recordingHw();
    const panel = new St7789Sink(hw.spi, hw.pins, { ...PANEL, xOffset: 0, yOffset: 80, chunk: 1000 });
    const frame = render(stateOf(FIXTURES[0]!), KEYS_240x240);
    await panel.write(frame);
    const [caset, xs, raset, ys, ramwr, ...data] = hw.transfers;
    expect([caset?.dc, caset?.data[0]]).toEqual([0, ST7789.CASET]);
    expect([...(xs?.data ?? [])]).toEqual([0, 0, 0, 239]);
    expect([raset?.dc, raset?.data[0]]).toEqual([0, ST7789.RASET]);
    expect([...(ys?.data ?? [])]).toEqual([0, 80, 1, 63]);
    expect([ramwr?.dc, ramwr?.data[0]]).toEqual([0, ST7789.RAMWR]);
    expect(data.every((d) => d.dc === 1 && d.data.length <= 1000)).toBe(true);
    const bytes = Buffer.concat(data.map((d) => d.data));
    expect(bytes.length).toBe(240 * 240 * 2);
    const back = rgb565ToRgba(bytes, 240, 240, true);
    expect(mismatches565(back, frame.pixels)).toBe(0);
    await expect(panel.write(confirm)).rejects.toMatchObject({ code: 'DISPLAY_UNAVAILABLE' });
    await panel.close();
    expect(hw.levels.get(24)).toBe(0);
    expect(hw.log.map((l) => l.op)).toContain('close-spi');
  });
});

describe('simulated sink', () => {
  it('keeps the latest frame and serves it as PNG', async () => {
    const sink = new SimSink(240, 240);
    expect(sink.latestPng()).toBeNull();
    const seen: number[] = [];
    sink.onFrame((n) => seen.push(n));
    const frame = render(stateOf(FIXTURES[0]!), KEYS_240x240);
    await sink.write(frame);
    await sink.write(frame);
    expect(seen).toEqual([1, 2]);
    expect([...sink.latest()!.subarray(0, 8)]).toEqual([...frame.pixels.subarray(0, 8)]);
    const server = createServer((req, res) => sink.handle(req, res));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    const get = (path: string) =>
      new Promise<{ status: number; body: Buffer; frame: string | undefined }>((resolve, reject) => {
        request({ host: '127.0.0.1', port, path }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              body: Buffer.concat(chunks),
              frame: res.headers['x-frame'] as string,
            }),
          );
        })
          .on('error', reject)
          .end();
      });
    try {
      const ok = await get('/frame.png');
      expect(ok.status).toBe(200);
      expect(ok.frame).toBe('2');
      expect([...ok.body.subarray(1, 4)]).toEqual([0x50, 0x4e, 0x47]);
      expect((await get('/other')).status).toBe(404);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
    await expect(sink.write(confirm)).rejects.toMatchObject({ code: 'DISPLAY_UNAVAILABLE' });
  });
});

// Real hardware, only when a device is named: ONEPAD_FB=/dev/fb0 npx vitest run test/display/sinks.test.ts
describe.runIf(process.env.ONEPAD_FB)('real framebuffer (ONEPAD_FB)', () => {
  it('writes a screen to the named framebuffer', async () => {
    const dev = process.env.ONEPAD_FB ?? '/dev/fb0';
    const probe = await readFbGeometry(`/sys/class/graphics/${dev.split('/').pop()}`);
    const layout = probe.width >= 800 && probe.height >= 480 ? TOUCH_800x480 : KEYS_240x240;
    const sink = await FramebufferSink.open(dev, { width: layout.width, height: layout.height });
    await sink.write(render(stateOf(FIXTURES[0]!), layout));
    await sink.close();
  });
});

describe('Sink contract, for every implementation', () => {
  const small = render(stateOf(FIXTURES[0]!), KEYS_240x240);
  const makers: [string, () => Promise<Sink>][] = [
    [
      'fbdev 16 bpp',
      () => FramebufferSink.open(fakeFb(240, 240, 16, 480), { sysfsRoot: join(dir, 'sys'), width: 240, height: 240 }),
    ],
    [
      'fbdev 32 bpp',
      () => FramebufferSink.open(fakeFb(240, 240, 32, 960), { sysfsRoot: join(dir, 'sys'), width: 240, height: 240 }),
    ],
    ['st7789', async () => new St7789Sink(recordingHw().spi, recordingHw().pins, PANEL)],
    ['sim', async () => new SimSink(240, 240)],
  ];
  for (const [name, make] of makers) {
    it(`${name}: takes frames of its size, refuses others and writes after close with DISPLAY_UNAVAILABLE`, async () => {
      const sink = await make();
      expect([sink.width, sink.height]).toEqual([240, 240]);
      await sink.write(small);
      await sink.write(small);
      await expect(sink.write(confirm)).rejects.toMatchObject({
        code: 'DISPLAY_UNAVAILABLE',
        details: { reason: 'size' },
      });
      await sink.close();
      await expect(sink.write(small)).rejects.toMatchObject({
        code: 'DISPLAY_UNAVAILABLE',
        details: { reason: 'closed' },
      });
    });
  }
});
