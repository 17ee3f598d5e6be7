/**
 * The image's shipped HRNG configuration (systemd/onepad-config.json): the USB TrueRNG and the on-board
 * /dev/hwrng, XORed, each behind its own health tests. The TrueRNG is a kernel pty read by the real serialport
 * binding, /dev/hwrng a FIFO; the sources are built by the same factory the device uses, from the shipped config
 * with only the two device paths (and the pool size) pointed at the test's stand-ins.
 *
 * Attacks: one of the two sources stuck (a broken or backdoored chip sending a constant) while the other is good.
 * Their XOR looks random, so only the per-source tests can see it: they must stop filling, name the stuck
 * source, and latch. Neither the good source's bytes nor anything derived from the stuck one reach the pool.
 */

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { autoDetect } from '@serialport/bindings-cpp';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../device/config/config.js';
import { createSources, fillerSettings, needsSerial } from '../../hrng/factory.js';
import { Filler } from '../../hrng/filler.js';
import { SimStream } from '../../hrng/sim-source.js';
import { tmpPool } from './helpers.js';
import { startPty } from './pty.js';

const SHIPPED = JSON.parse(
  readFileSync(fileURLToPath(new URL('../../systemd/onepad-config.json', import.meta.url)), 'utf8'),
) as { hrng: { sources: { kind: string }[] } };

const stops: (() => void)[] = [];
afterEach(() => {
  for (const s of stops.splice(0)) s();
});

/** The shipped config with the TrueRNG at `truerng` and /dev/hwrng at `hwrng`. */
function shippedWith(dataDir: string, truerng: string, hwrng: string) {
  const sources = SHIPPED.hrng.sources.map((s) => ({ ...s, path: s.kind === 'truerng' ? truerng : hwrng }));
  return parseConfig({ ...SHIPPED, dataDir, hrng: { ...SHIPPED.hrng, sources, poolMaxBytes: 1 << 20 } });
}

/**
 * Once `start` settles, keep writing bytes from `gen` into `write` until stopped or `write` says the sink is gone
 * (false). Each write is followed by a turn of the event loop: a sink that answers at once (a destroyed stream)
 * would otherwise spin here in microtasks, starving the timers and hooks that stop it (a whole CI run hung so).
 */
function pump(write: (b: Uint8Array) => Promise<boolean>, gen: () => Uint8Array, start: Promise<void>): () => void {
  let on = true;
  void (async () => {
    await start;
    while (on && (await write(gen()))) await new Promise((r) => setImmediate(r));
  })();
  return () => {
    on = false;
  };
}

/** A FIFO standing in for /dev/hwrng, fed from `gen` once the reader opens it. */
function fakeHwrng(dir: string, gen: () => Uint8Array, start: Promise<void>): string {
  const fifo = join(dir, 'hwrng');
  execFileSync('mkfifo', [fifo]);
  const w = createWriteStream(fifo);
  w.on('error', () => {});
  const stop = pump(
    (b) =>
      new Promise((resolve) => {
        if (w.destroyed) return resolve(false);
        w.write(b, () => resolve(!w.destroyed));
      }),
    gen,
    start,
  );
  stops.push(() => {
    stop();
    w.destroy();
  });
  return fifo;
}

async function fakeTrueRng(gen: () => Uint8Array, start: Promise<void>): Promise<string> {
  const pty = await startPty(60);
  // The pty's writer answers at once once it is closed; the turn after each write keeps that from spinning.
  const stop = pump((b) => pty.write(b).then(() => true), gen, start);
  stops.push(() => {
    stop();
    pty.kill();
  });
  return pty.path;
}

const random = () => new Uint8Array(randomBytes(16384));
const stuck = () => new Uint8Array(16384).fill(0x5a);

async function fill(truerng: () => Uint8Array, hwrng: () => Uint8Array) {
  const t = tmpPool(1 << 20);
  stops.push(t.cleanup);
  const dir = mkdtempSync(join(tmpdir(), 'onepad-shipped-'));
  stops.push(() => rmSync(dir, { recursive: true, force: true }));
  // The devices start sending once both are open, so the two streams line up byte for byte in the XOR (which the
  // mirror attack below needs; a mirror shifted by k bytes XORs distinct random bytes and does no harm).
  let opened = () => {};
  const start = new Promise<void>((resolve) => {
    opened = resolve;
  });
  const config = shippedWith(t.root, await fakeTrueRng(truerng, start), fakeHwrng(dir, hwrng, start));
  expect(needsSerial(config.hrng.sources, false)).toBe(true);
  const sources = createSources(config.hrng, { simulated: false, binding: autoDetect() });
  const filler = new Filler({
    sources,
    pool: t.pool,
    events: t.events,
    ...fillerSettings(config.hrng),
    chunkBytes: 8192,
    // A shorter holdback than the device's 1 MiB, so the test moves about a MiB through the pty.
    holdbackBytes: 384 * 1024,
  });
  const result = await filler.run({ bytes: 32 * 1024, onOpened: opened });
  return { t, filler, result, sources };
}

describe('the shipped HRNG config: TrueRNG and /dev/hwrng', () => {
  it('names both sources, each a real device, none simulated', () => {
    expect(SHIPPED.hrng.sources.map((s) => s.kind)).toEqual(['truerng', 'hwrng']);
    const c = shippedWith('/tmp/x', '', '');
    const sources = createSources(c.hrng, { simulated: false, binding: autoDetect() });
    expect(sources.map((s) => [s.kind, s.insecure])).toEqual([
      ['truerng', false],
      ['hwrng', false],
    ]);
  });

  it('fills the pool from both: every source read and released through its own gate, then combined', async () => {
    const { t, filler, result } = await fill(random, random);
    expect(result.state).toBe('full');
    expect(result.appended).toBe(32 * 1024);
    expect(t.pool.available()).toBe(32 * 1024);
    expect(t.pool.insecure).toBe(false);
    const p = filler.progress();
    expect(p.sources.map((s) => s.name)).toEqual(['truerng', 'hwrng']);
    for (const s of p.sources) {
      expect(s.rawBytes).toBeGreaterThan(384 * 1024);
      expect(s.releasedBytes).toBeGreaterThan(0);
      expect(s.failure).toBeNull();
    }
    // Two sources: the XOR has a gate of its own.
    expect(p.combined.gate).not.toBeNull();
  }, 60_000);

  for (const bad of ['truerng', 'hwrng'] as const) {
    it(`a stuck ${bad} beside a good one stops filling, names ${bad}, latches, and adds nothing`, async () => {
      const { t, result } = await fill(bad === 'truerng' ? stuck : random, bad === 'hwrng' ? stuck : random);
      expect(result.state).toBe('failed');
      expect(result.error?.code).toBe('HRNG_HEALTH_FAILED');
      expect(result.error?.details.source).toBe(bad);
      expect(result.appended).toBe(0);
      expect(t.pool.available()).toBe(0);
      expect(t.pool.latch()).toMatch(new RegExp(`^HRNG_HEALTH_FAILED:${bad}:`));
      const failures = t.events.recent(20).filter((e) => e.kind === 'HRNG_HEALTH_FAILURE');
      expect(failures.map((e) => e.detail.source)).toEqual([bad]);
    }, 60_000);
  }

  it("a hwrng that sends the TrueRNG's own stream (each looks random, their XOR is zero) fails the combined gate", async () => {
    const a = new SimStream('mirror');
    const b = new SimStream('mirror');
    const { t, result } = await fill(
      () => a.next(16384),
      () => b.next(16384),
    );
    expect(result.state).toBe('failed');
    expect(result.error?.code).toBe('HRNG_HEALTH_FAILED');
    expect(result.error?.details.source).toBe('combined');
    expect(t.pool.available()).toBe(0);
    expect(t.pool.latch()).toMatch(/^HRNG_HEALTH_FAILED:combined:/);
  }, 60_000);
});
