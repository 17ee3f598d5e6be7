/**
 * The RawSource contract, run against every implementation: the simulated source, the kernel hwrng source
 * (pointed at a FIFO the test writes), and the serial source over a pty.
 */
import { execFileSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { autoDetect } from '@serialport/bindings-cpp';
import { afterAll, describe, expect, it } from 'vitest';
import { isOnepadError } from '../../device/errors.js';
import { HwrngSource } from '../../hrng/hwrng-source.js';
import { SerialSource } from '../../hrng/serial-source.js';
import { SimSource, SimStream } from '../../hrng/sim-source.js';
import type { RawSource } from '../../hrng/source.js';
import { startPty } from './pty.js';

const dir = mkdtempSync(join(tmpdir(), 'onepad-src-'));
const stops: (() => void)[] = [];
afterAll(() => {
  for (const s of stops) s();
  rmSync(dir, { recursive: true, force: true });
});

interface Harness {
  readonly source: RawSource;
  /** Make the device deliver these bytes (after open). */
  feed(bytes: Uint8Array): Promise<void>;
  /** The bytes the source should deliver first, when fed `feed`'s bytes; null when the source makes its own. */
  readonly expected: Uint8Array | null;
}

const FEED = new SimStream('contract').next(10_000);

const harnesses: Record<string, () => Promise<Harness>> = {
  simulated: async () => ({
    source: new SimSource({ seed: 'contract' }),
    feed: async () => {},
    expected: FEED,
  }),
  hwrng: async () => {
    const fifo = join(dir, `fifo-${Math.random().toString(16).slice(2)}`);
    execFileSync('mkfifo', [fifo]);
    let writer: ReturnType<typeof createWriteStream> | null = null;
    return {
      source: new HwrngSource({ path: fifo }),
      feed: (bytes) =>
        new Promise((resolve) => {
          writer = createWriteStream(fifo);
          stops.push(() => writer?.destroy());
          writer.write(bytes, () => resolve());
        }),
      expected: FEED,
    };
  },
  serial: async () => {
    const pty = await startPty(20);
    stops.push(pty.kill);
    return {
      source: new SerialSource(autoDetect(), { profile: 'truerng', path: pty.path }),
      feed: (bytes) => pty.write(bytes),
      expected: FEED,
    };
  },
};

describe.each(Object.keys(harnesses))('RawSource contract: %s', (kind) => {
  it('reads 1..max raw bytes in order after open; read after close rejects HRNG_SOURCE_LOST', async () => {
    const h = await (harnesses[kind] as () => Promise<Harness>)();
    const opening = h.source.open();
    // A FIFO opens only when the writer opens it, so feed and open run together.
    const feeding = kind === 'hwrng' ? h.feed(FEED) : opening.then(() => h.feed(FEED));
    await opening;
    await feeding;
    const got: number[] = [];
    while (got.length < 6000) {
      const chunk = await h.source.read(1000);
      expect(chunk.length).toBeGreaterThanOrEqual(1);
      expect(chunk.length).toBeLessThanOrEqual(1000);
      got.push(...chunk);
    }
    expect(Uint8Array.from(got.slice(0, 6000))).toEqual(h.expected?.subarray(0, 6000));
    await h.source.close();
    await h.source.close(); // idempotent
    const err = await h.source.read(10).catch((e: unknown) => e);
    expect(isOnepadError(err, 'HRNG_SOURCE_LOST')).toBe(true);
    expect(h.source.insecure).toBe(kind === 'simulated');
    expect(h.source.claimedH).toBeGreaterThan(0);
  });

  it('a read pending when the source is closed rejects with canceled', async () => {
    const h = await (harnesses[kind] as () => Promise<Harness>)();
    if (kind === 'simulated') {
      const s = new SimSource({ seed: 'c', bytesPerSecond: 10 });
      await s.open();
      const pending = s.read(100).catch((e: unknown) => e);
      await s.close();
      expect(await pending).toMatchObject({ code: 'HRNG_SOURCE_LOST', details: { canceled: true } });
      return;
    }
    const opening = h.source.open();
    if (kind === 'hwrng') await h.feed(new Uint8Array(0));
    await opening;
    const pending = h.source.read(100).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 50));
    await h.source.close();
    expect(await pending).toMatchObject({ code: 'HRNG_SOURCE_LOST', details: { canceled: true } });
  });
});

describe('HwrngSource', () => {
  it('end of file is HRNG_SOURCE_LOST; a missing device is HRNG_SOURCE_UNAVAILABLE', async () => {
    const file = join(dir, 'short.bin');
    writeFileSync(file, new Uint8Array(100));
    const s = new HwrngSource({ path: file });
    await s.open();
    expect((await s.read(4096)).length).toBe(100);
    await expect(s.read(10)).rejects.toMatchObject({ code: 'HRNG_SOURCE_LOST', details: { reason: 'end of file' } });
    await s.close();
    await expect(new HwrngSource({ path: join(dir, 'nope') }).open()).rejects.toMatchObject({
      code: 'HRNG_SOURCE_UNAVAILABLE',
    });
  });
});

// Real hardware runs only when ONEPAD_HRNG_DEVICE names one, e.g. "truerng:/dev/ttyACM0" or "hwrng:/dev/hwrng"
// (STYLE.md: the same suite against hardware when an env variable names a device); CI has no HRNG attached.
const REAL = process.env.ONEPAD_HRNG_DEVICE;
describe.skipIf(!REAL)('real HRNG named by ONEPAD_HRNG_DEVICE', () => {
  it('delivers 64 KiB that pass the health gate', async () => {
    const [kind, path] = (REAL as string).split(':') as [string, string];
    const source: RawSource =
      kind === 'hwrng'
        ? new HwrngSource({ path })
        : new SerialSource(autoDetect(), { profile: kind === 'onerng' ? 'onerng' : 'truerng', path });
    const { HealthGate } = await import('../../hrng/gate.js');
    const gate = new HealthGate({ alphaLog2: 30, h: source.claimedH });
    await source.open();
    try {
      let n = 0;
      while (n < 65536) {
        const b = await source.read(4096);
        n += b.length;
        expect(gate.push(b).failure).toBeUndefined();
      }
    } finally {
      await source.close();
    }
    expect(gate.state).toBe('running');
  });
});
