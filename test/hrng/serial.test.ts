/**
 * The serial sources through a real pseudo-terminal: the real @serialport/bindings-cpp binding opens the slave
 * side; the test plays the USB HRNG on the master side (test/hrng/pty-helper.py).
 */
import { autoDetect } from '@serialport/bindings-cpp';
import { afterEach, describe, expect, it } from 'vitest';
import { isOnepadError } from '../../device/errors.js';
import { Filler, type FillResult } from '../../hrng/filler.js';
import { SerialSource, type SerialSourceOptions } from '../../hrng/serial-source.js';
import { SimStream } from '../../hrng/sim-source.js';
import type { RawSource } from '../../hrng/source.js';
import { tmpPool } from './helpers.js';
import { expectPoolFrom } from './pipeline-model.js';
import { type PtyPair, startPty } from './pty.js';

const binding = autoDetect();
let cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.reverse()) c();
  cleanups = [];
});

/** The pool holds only the extraction of bytes before `onset` (the TrueRNG profile claims H = 4). */
function expectPrefixBefore(t: { root: string; pool: { available(): number } }, stream: Uint8Array, onset: number) {
  expectPoolFrom(t.root, t.pool.available(), stream, 4, onset);
}

/**
 * Wrap a source so the test knows when it is open: the binding flushes the port's input at open (as with a real
 * device, bytes sent before that are discarded), so the "device" starts sending only then.
 */
function watchOpen(source: RawSource): { source: RawSource; opened: Promise<void> } {
  let done: () => void = () => {};
  const opened = new Promise<void>((r) => {
    done = r;
  });
  const wrapped: RawSource = {
    name: source.name,
    kind: source.kind,
    insecure: source.insecure,
    claimedH: source.claimedH,
    minBytesPerSecond: source.minBytesPerSecond,
    open: async () => {
      await source.open();
      done();
    },
    read: (max) => source.read(max),
    close: () => source.close(),
    info: () => source.info(),
  };
  return { source: wrapped, opened };
}

async function setup(opts: Partial<SerialSourceOptions> = {}, poolMax = 1 << 20) {
  const pty = await startPty(20);
  const t = tmpPool(poolMax);
  cleanups.push(t.cleanup, pty.kill);
  const serial = new SerialSource(binding, { profile: 'truerng', path: pty.path, ...opts });
  const { source, opened } = watchOpen(serial);
  return { pty, t, source, serial, opened };
}

async function feedAndFill(
  s: { pty: PtyPair; opened: Promise<void> },
  filler: Filler,
  bytes: Uint8Array,
  bytesWanted?: number,
): Promise<FillResult> {
  const run = filler.run(bytesWanted ? { bytes: bytesWanted } : {});
  await s.opened;
  await s.pty.write(bytes);
  return run;
}

describe('TrueRNG profile over a pty', () => {
  it('fills the pool with the extraction of exactly the bytes the device sent', async () => {
    const s = await setup();
    const { pty, t, source } = s;
    const stream = new SimStream('truerng').next(1200 * 1024);
    const f = new Filler({ sources: [source], pool: t.pool, events: t.events, chunkBytes: 4096 });
    const r = await feedAndFill(s, f, stream, 32_768);
    expect(r).toMatchObject({ state: 'full', appended: 32_768 });
    expectPoolFrom(t.root, 32_768, stream, 4, stream.length);
    expect(t.pool.insecure).toBe(false);
    // A pty has no modem lines: DTR cannot be raised there (a real TrueRNG port accepts it).
    expect(s.serial.info()).toMatchObject({ kind: 'truerng', path: pty.path, dtr: 'unsupported' });
  });

  it('a stuck-at device fails the start-up test: nothing reaches the pool', async () => {
    const s = await setup();
    const { t, source } = s;
    const f = new Filler({ sources: [source], pool: t.pool, events: t.events });
    const r = await feedAndFill(s, f, new Uint8Array(4096).fill(0xff));
    expect(r.error?.details).toMatchObject({ test: 'rct', phase: 'startup', sample: 15 });
    expect(t.pool.available()).toBe(0);
    expect(t.events.recent(1)[0]?.kind).toBe('HRNG_HEALTH_FAILURE');
  });

  it('a long repeated run fails the RCT; nothing from it is in the pool', async () => {
    const s = await setup();
    const { t, source } = s;
    const good = new SimStream('run').next(20_000);
    const bad = good.slice();
    bad.fill(0x3c, 7000, 7200);
    const f = new Filler({ sources: [source], pool: t.pool, events: t.events, chunkBytes: 512 });
    const r = await feedAndFill(s, f, bad);
    expect(r.error?.details).toMatchObject({ test: 'rct', phase: 'startup' }); // still inside the first holdback
    const sample = Number(r.error?.details.sample);
    expect(sample).toBeGreaterThanOrEqual(7000);
    expect(sample).toBeLessThan(7016);
    expectPrefixBefore(t, bad, 7000);
  });

  it('a biased device fails the APT', async () => {
    const s = await setup();
    const { t, source } = s;
    const good = new SimStream('biased').next(60_000);
    const biased = good.map((b, i) => (i >= 2048 && b < 96 ? 0x00 : b)); // ~37% zeros after 2048
    const f = new Filler({ sources: [source], pool: t.pool, events: t.events, chunkBytes: 512 });
    const r = await feedAndFill(s, f, biased);
    expect(['apt', 'mcv']).toContain(r.error?.details.test);
    expectPrefixBefore(t, biased, 2048);
  });

  it('a periodic pattern fails the periodic test', async () => {
    const s = await setup();
    const { t, source } = s;
    const good = new SimStream('periodic').next(8000);
    const pattern = [0x10, 0x32, 0x54, 0x76, 0x98];
    const bytes = good.map((b, i) => (i >= 3000 ? (pattern[i % 5] as number) : b));
    const f = new Filler({ sources: [source], pool: t.pool, events: t.events, chunkBytes: 512 });
    const r = await feedAndFill(s, f, bytes);
    expect(r.error?.details).toMatchObject({ test: 'periodic', sample: 3000 + 5 + 17 });
    expectPrefixBefore(t, bytes, 3000);
  });

  it('the device vanishing mid-fill (pty closed) stops filling with HRNG_SOURCE_LOST', async () => {
    const s = await setup();
    const { pty, t, source } = s;
    const sent = (1 << 20) + 100_000;
    const good = new SimStream('vanish').next(sent);
    const f = new Filler({ sources: [source], pool: t.pool, events: t.events, chunkBytes: 512 });
    const run = f.run();
    await s.opened;
    await pty.write(good.subarray(0, 1 << 20));
    await pty.write(good.subarray(1 << 20));
    const t0 = Date.now();
    // Unplug once something is in the pool (appends are synced asynchronously behind the reads).
    while (t.pool.available() < 4096 && Date.now() - t0 < 20_000) {
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 300));
    const unplugged = Date.now();
    pty.unplug();
    const r = await run;
    expect(isOnepadError(r.error, 'HRNG_SOURCE_LOST')).toBe(true);
    expect(Date.now() - unplugged).toBeLessThan(3000);
    // What was still held back (the last holdback's worth) never reached the pool.
    expect(t.pool.available()).toBeGreaterThan(0);
    expectPoolFrom(t.root, t.pool.available(), good, 4, sent - (1 << 20));
    expect(t.events.recent(1)[0]).toMatchObject({ kind: 'HRNG_SOURCE_LOST', detail: { source: 'truerng' } });
  });

  it('a device much slower than expected is caught at the end of the rate window', async () => {
    const { pty, t, source, opened } = await setup({ minBytesPerSecond: 20_000 });
    const f = new Filler({ sources: [source], pool: t.pool, events: t.events, rateWindowMs: 600 });
    const run = f.run();
    await opened;
    const stream = new SimStream('slow');
    let done = false;
    void run.then(() => {
      done = true;
    });
    const t0 = Date.now();
    while (!done && Date.now() - t0 < 5000) {
      await pty.write(stream.next(100)); // about 2 KB/s
      await new Promise((r) => setTimeout(r, 50));
    }
    const r = await run;
    expect(r.error?.details).toMatchObject({ source: 'truerng', reason: 'slow' });
    expect(Date.now() - t0).toBeLessThan(2500);
  });

  it('a missing port is HRNG_SOURCE_UNAVAILABLE', async () => {
    const s = new SerialSource(binding, { profile: 'truerng', path: '/dev/pts/onepad-nonexistent' });
    await expect(s.open()).rejects.toMatchObject({ code: 'HRNG_SOURCE_UNAVAILABLE' });
    const byId = new SerialSource(binding, { profile: 'truerng', usbId: 'ffff:fffe' });
    await expect(byId.open()).rejects.toMatchObject({
      code: 'HRNG_SOURCE_UNAVAILABLE',
      details: { reason: 'not found' },
    });
  });
});

describe('OneRNG profile over a pty', () => {
  it('sends the start-up commands, fills after cmdO, stops the device on close', async () => {
    const { pty, t, source, serial } = await setup({ profile: 'onerng', onerngMode: 2 });
    const f = new Filler({ sources: [source], pool: t.pool, events: t.events, chunkBytes: 4096 });
    const run = f.run({ bytes: 8192 });
    // Stale output before start (zeros, which would fail the health tests if used) is flushed, never used.
    await pty.waitForOutput('cmd2');
    await pty.write(new Uint8Array(3000));
    await pty.waitForOutput('cmdO');
    expect(pty.output().toString()).toBe('cmdocmdwcmd2cmdO');
    const stream = new SimStream('onerng').next(1200 * 1024);
    await pty.write(stream.subarray(0, 1 << 20));
    await pty.write(stream.subarray(1 << 20));
    expect(await run).toMatchObject({ state: 'full', appended: 8192 });
    expectPoolFrom(t.root, 8192, stream, 4, stream.length);
    await pty.waitForOutput('cmdOcmdocmdw');
    expect(serial.info()).toMatchObject({ kind: 'onerng', mode: 2 });
  });

  it('raw (unwhitened) modes claim less entropy by default', () => {
    expect(new SerialSource(binding, { profile: 'onerng', path: 'x', onerngMode: 1 }).claimedH).toBe(2);
    expect(new SerialSource(binding, { profile: 'onerng', path: 'x', onerngMode: 0 }).claimedH).toBe(4);
    expect(() => new SerialSource(binding, { profile: 'onerng', path: 'x', onerngMode: 8 })).toThrow(RangeError);
  });
});
