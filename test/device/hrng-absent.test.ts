/**
 * The device with its shipped HRNG config (TrueRNG + /dev/hwrng) when the USB TrueRNG is not plugged in: it runs
 * (the link server answers), it does not fill the pool from the on-board RNG alone, and its home screen says so
 * — checked on the raw pixels against the project's own render of that home screen. Plugging the TrueRNG in
 * (a kernel pty, read by the real serialport binding, appearing at the configured path) clears the warning and
 * filling starts from both sources. /dev/hwrng is a FIFO the test feeds.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { autoDetect } from '@serialport/bindings-cpp';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../device/config/config.js';
import { OnepadError } from '../../device/errors.js';
import { type Hosted, sourceNotice, startHosted } from '../../device/service/hosted.js';
import { ManualClock } from '../../display/clock.js';
import { type DeviceScreen, openDeviceScreen } from '../../display/device-screen.js';
import { LAYOUTS } from '../../display/layout.js';
import { initialInteraction, type ScreenState } from '../../display/screen-types.js';
import { render } from '../../display/screens/index.js';
import type { SimSink } from '../../display/sim-sink.js';
import { type DeviceService, startDeviceService } from '../../rpc/service.js';
import { startPty } from '../hrng/pty.js';

const SHIPPED = JSON.parse(
  readFileSync(fileURLToPath(new URL('../../systemd/onepad-config.json', import.meta.url)), 'utf8'),
) as { hrng: { sources: { kind: string }[] }; display: object };
const NOW = Date.UTC(2026, 11, 2, 2, 0, 0);

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function until(what: string, ok: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('the shipped HRNG config without the USB TrueRNG', () => {
  it('runs, warns on its home screen (pixels), and fills from both once the TrueRNG is plugged in', async () => {
    const root = mkdtempSync(join(tmpdir(), 'onepad-absent-'));
    cleanups.push(() => rmSync(root, { recursive: true, force: true }));
    const truerngPath = join(root, 'ttyACM0'); // nothing there yet: the TrueRNG is not plugged in
    const hwrngPath = join(root, 'hwrng');
    execFileSync('mkfifo', [hwrngPath]);
    const hw = createWriteStream(hwrngPath);
    hw.on('error', () => {});
    let feeding = true;
    void (async () => {
      while (feeding && !hw.destroyed) await new Promise((r) => hw.write(randomBytes(16384), r));
    })();
    cleanups.push(() => {
      feeding = false;
      hw.destroy();
    });

    const sources = SHIPPED.hrng.sources.map((s) => ({ ...s, path: s.kind === 'truerng' ? truerngPath : hwrngPath }));
    const config = parseConfig({
      ...SHIPPED,
      dataDir: join(root, 'data'),
      device: { name: 'pad-shipped', ownerWord: 'heron' },
      link: { address: '127.0.0.1', peer: '127.0.0.1', port: 4747, logLevel: 'warn' },
      // The pixels come from the simulator's sink (the framebuffer sink has tests of its own); input is unused.
      display: { ...SHIPPED.display, sink: 'sim', input: 'sim' },
      hrng: { ...SHIPPED.hrng, sources, poolMaxBytes: 1 << 20 },
    });
    const clock = new ManualClock(NOW);
    const screen: DeviceScreen = await openDeviceScreen(config, 'device', clock);
    cleanups.push(() => screen.close());
    const service: DeviceService = await startDeviceService({
      config,
      confirmer: screen.confirmer,
      privateDisplay: screen.privateDisplay,
      simulated: false,
      port: 0,
    });
    cleanups.push(() => service.stop());
    screen.attachEngine(service.engine);
    const logs: string[] = [];
    const hosted: Hosted = startHosted({
      config,
      engine: service.engine,
      screen,
      simulated: false,
      binding: autoDetect(),
      refillIdleMs: 200,
      log: (l) => logs.push(l),
    });
    cleanups.push(() => hosted.stop());

    const sink = screen.sink as SimSink;
    const layout = LAYOUTS[config.display.layout];
    type Home = Extract<ScreenState, { id: 'home' }>;
    const expected = (hrng: Home['hrng'], warnings: Home['warnings']) =>
      render(
        {
          id: 'home',
          contacts: [],
          hrng,
          warnings,
          chrome: { deviceName: 'pad-shipped', ownerWord: 'heron', insecure: false },
          ui: initialInteraction(config.display.approveGesture),
          instance: screen.ui.instance,
          now: NOW,
        },
        layout,
      ).pixels;
    const same = (a: Uint8ClampedArray | null, b: Uint8ClampedArray) =>
      a !== null && a.length === b.length && a.every((v, i) => v === b[i]);
    await until('the first failed fill', () => hosted.hrngNotice() !== null);
    // One event for the missing TrueRNG however often the device retries: "HRNG not found" in the warnings.
    const lost = service.engine.events.recent(20).filter((e) => e.kind === 'HRNG_SOURCE_LOST');
    expect(lost.map((e) => e.detail)).toEqual([{ source: 'truerng', reason: 'open failed' }]);
    const warnings = [{ time: (lost[0] as { time: number }).time, text: 'HRNG not found' }];
    const warned = expected(
      { healthy: false, poolBytes: 0, poolCapacity: 1 << 20, failing: 'truerng absent, not filling' },
      warnings,
    );
    const healthyEmpty = expected({ healthy: true, poolBytes: 0, poolCapacity: 1 << 20 }, warnings);
    expect(same(warned, healthyEmpty)).toBe(false);

    await until('the absent-TrueRNG warning on screen', () => same(sink.latest(), warned));
    expect(hosted.hrngNotice()).toBe('truerng absent, not filling');
    // The device runs: its link server answers.
    const res = await fetch(`http://127.0.0.1:${service.port}/`);
    expect(res.status).toBeLessThan(500);
    // Several retries later, nothing was filled from /dev/hwrng alone, and nothing latched.
    await new Promise((r) => setTimeout(r, 800));
    expect(hosted.pool.available()).toBe(0);
    expect(hosted.pool.latch()).toBeNull();
    expect(same(sink.latest(), warned)).toBe(true);
    expect(service.engine.events.recent(20).filter((e) => e.kind === 'HRNG_SOURCE_LOST')).toHaveLength(1);

    // Plug the TrueRNG in.
    const pty = await startPty(60);
    let sending = true;
    void (async () => {
      while (sending) await pty.write(randomBytes(16384));
    })();
    cleanups.push(() => {
      sending = false;
      pty.kill();
    });
    symlinkSync(pty.path, truerngPath);
    await until('the warning to clear', () => hosted.hrngNotice() === null);
    await until('home without the warning', () => same(sink.latest(), healthyEmpty) || hosted.pool.available() > 0);
    await until('filling from both sources', () => hosted.pool.available() > 0, 60_000);
    expect(hosted.pool.insecure).toBe(false);
    expect(logs.filter((l) => l.includes('truerng absent'))).toHaveLength(1);
  }, 90_000);
});

describe('sourceNotice', () => {
  it('says absent, cannot be opened, or unplugged; nothing for other failures', () => {
    const n = (code: 'HRNG_SOURCE_UNAVAILABLE' | 'HRNG_SOURCE_LOST' | 'HRNG_SOURCE_SLOW', reason: string) =>
      sourceNotice(new OnepadError(code, { source: 'truerng', reason }));
    expect(n('HRNG_SOURCE_UNAVAILABLE', 'not found')).toBe('truerng absent, not filling');
    expect(n('HRNG_SOURCE_UNAVAILABLE', 'ENOENT')).toBe('truerng absent, not filling');
    expect(n('HRNG_SOURCE_UNAVAILABLE', 'EACCES')).toBe('truerng cannot be opened, not filling');
    expect(n('HRNG_SOURCE_LOST', 'EIO')).toBe('truerng unplugged, not filling');
    expect(n('HRNG_SOURCE_SLOW', 'slow')).toBeNull();
  });
});
