import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isOnepadError } from '../../device/errors.js';
import { Filler } from '../../hrng/filler.js';
import { loadSeed } from '../../hrng/seed.js';
import { SimSource, SimStream } from '../../hrng/sim-source.js';
import { readStatus } from '../../hrng/status-file.js';
import { ScriptedSource, streamOf, tmpPool } from './helpers.js';
import { expectPoolFrom } from './pipeline-model.js';

const HOLD = 384 * 1024;
const small = { holdbackBytes: HOLD, repeatHistoryBytes: 1 << 20 };

let cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups) c();
  cleanups = [];
});
function fresh(max: number) {
  const t = tmpPool(max);
  cleanups.push(t.cleanup);
  return t;
}

describe('Filler', () => {
  it('fills the pool with the extraction of one healthy source, marked insecure; the seed is kept (0600)', async () => {
    const t = fresh(100_000);
    const f = new Filler({
      sources: [new SimSource({ seed: 'one' })],
      pool: t.pool,
      events: t.events,
      chunkBytes: 8192,
    });
    const progress: number[] = [];
    const r = await f.run({ onProgress: (p) => progress.push(p.poolBytes) });
    expect(r.state).toBe('full');
    expect(t.pool.available()).toBe(100_000);
    const stream = new SimStream('one').next(3 << 20);
    expectPoolFrom(t.root, 100_000, stream, 8, stream.length);
    expect(t.pool.insecure).toBe(true);
    expect(progress.at(-1)).toBe(100_000);
    const p = f.progress();
    expect(p.secondsToFull).toBe(0);
    expect(p.sources[0]).toMatchObject({ name: 'sim', rctCutoff: 9, aptCutoff: 25, gate: 'running' });
    expect(p.combined.extractor).toMatchObject({ inBytes: 128, outBytes: 112, kBits: 1024, epsilonLog2: 64 });
    const seedFile = join(t.root, 'hrng-seed.bin');
    expect(statSync(seedFile).mode & 0o777).toBe(0o600);
    // The status file for `hrng status` has every test's counters.
    const status = readStatus(join(t.root, 'hrng-status.json'));
    expect(status?.progress.sources[0]?.tests.mcv.evaluations).toBeGreaterThan(0);
    // A second run keeps the seed: the same extractor.
    const seed = loadSeed(seedFile);
    t.pool.take(100_000);
    await new Filler({ sources: [new SimSource({ seed: 'two' })], pool: t.pool, chunkBytes: 8192 }).run({
      bytes: 4096,
    });
    expect(loadSeed(seedFile)).toEqual(seed);
  });

  it('XORs two sources byte for byte before extraction', async () => {
    const t = fresh(50_000);
    const a = new SimSource({ seed: 'a', name: 'a' });
    const b = new SimSource({ seed: 'b', name: 'b', chunk: 777 });
    const f = new Filler({ sources: [a, b], pool: t.pool, chunkBytes: 4096, ...small });
    expect((await f.run()).state).toBe('full');
    const xa = new SimStream('a').next(1 << 20);
    const xb = new SimStream('b').next(1 << 20);
    expectPoolFrom(
      t.root,
      50_000,
      xa.map((v, i) => v ^ (xb[i] as number)),
      8,
      1 << 20,
    );
    expect(f.progress().combined.gate?.state).toBe('running');
  });

  it('stops at the requested byte count and when aborted', async () => {
    const t = fresh(1 << 20);
    const f = new Filler({ sources: [new SimSource({ seed: 'n' })], pool: t.pool, chunkBytes: 4096, ...small });
    expect(await f.run({ bytes: 10_000 })).toMatchObject({ state: 'full', appended: 10_000 });
    const ac = new AbortController();
    const slow = new Filler({
      sources: [new SimSource({ seed: 's', bytesPerSecond: 2_000_000, chunk: 4096 })],
      pool: t.pool,
      chunkBytes: 1 << 16,
      ...small,
    });
    setTimeout(() => ac.abort(), 600);
    const r = await slow.run({ signal: ac.signal });
    expect(r.state).toBe('stopped');
  });

  it('a stuck-at source fails: latched with the test named, event logged, nothing from the fault pooled', async () => {
    const t = fresh(1 << 20);
    const { gen: good, bytes: goodBytes } = streamOf('stuck', 2 << 20);
    const failAt = HOLD + 300_001;
    const gen = (off: number, n: number) => {
      const out = good(off, n);
      for (let i = 0; i < n; i++) if (off + i >= failAt) out[i] = 0xa5;
      return out;
    };
    const src = new ScriptedSource('stuck', gen, { chunk: 3000, claimedH: 8 });
    const f = new Filler({ sources: [src], pool: t.pool, events: t.events, chunkBytes: 512, ...small });
    const r = await f.run();
    expect(r.state).toBe('failed');
    expect(isOnepadError(r.error, 'HRNG_HEALTH_FAILED')).toBe(true);
    expect(r.error?.details).toMatchObject({ source: 'stuck', test: 'rct', phase: 'continuous', sample: failAt + 8 });
    expect(t.pool.available()).toBeGreaterThan(0);
    expectPoolFrom(t.root, t.pool.available(), goodBytes, 8, failAt);
    const ev = t.events.recent(5, ['HRNG_HEALTH_FAILURE'])[0];
    expect(ev?.detail).toMatchObject({ source: 'stuck', test: 'rct', sample: failAt + 8 });
    expect(src.closed).toBe(true);
    expect(t.pool.latch()).toBe('HRNG_HEALTH_FAILED:stuck:rct');
    // Latched, also for a new filler (a restart): only resume lets it run.
    const again = new Filler({ sources: [new SimSource({ seed: 'x' })], pool: t.pool, events: t.events, ...small });
    await expect(again.run()).rejects.toMatchObject({ code: 'HRNG_HEALTH_FAILED' });
    again.resume();
    expect(t.events.recent(1)[0]?.kind).toBe('HRNG_RESUMED');
    expect((await again.run({ bytes: 2048 })).state).toBe('full');
  });

  it('full reads are gated in batches, short reads at once: the pool is the extraction of the stream in order', async () => {
    // Reads come back full (gathered into a batch) or short (which gates the batch and then themselves), in a
    // pattern that puts batch ends and short reads anywhere; a stuck run starts inside a batch.
    const t = fresh(4 << 20);
    const { gen: good, bytes: goodBytes } = streamOf('batches', 6 << 20);
    const failAt = (2 << 20) + 123_457;
    const sizes = [4096, 4096, 4096, 1000, 4096, 17, 4096, 4096, 4096, 4096, 4095];
    let reads = 0;
    const src = new ScriptedSource('batch', (off, n) => {
      const out = good(off, n);
      for (let i = 0; i < n; i++) if (off + i >= failAt) out[i] = 0x3c;
      return out;
    });
    const read = src.read.bind(src);
    src.read = (max) => read(Math.min(max, sizes[reads++ % sizes.length] as number));
    const f = new Filler({ sources: [src], pool: t.pool, events: t.events, chunkBytes: 4096, ...small });
    const r = await f.run();
    expect(r.error?.details).toMatchObject({ source: 'batch', test: 'rct', sample: failAt + 8 });
    expect(t.pool.available()).toBeGreaterThan(1 << 20);
    expectPoolFrom(t.root, t.pool.available(), goodBytes, 8, failAt);
  });

  for (const end of ['lost', 'hang'] as const) {
    it(`stuck bytes gathered in a batch are still tested when the source then goes (${end}): a health failure`, async () => {
      // Full reads of a stuck byte, then the source is unplugged or stops answering long before a batch is full.
      const t = fresh(1 << 20);
      const src = new ScriptedSource('gone', (_o, n) => new Uint8Array(n).fill(0x42), { endAt: 40_960, end });
      const f = new Filler({ sources: [src], pool: t.pool, events: t.events, stallTimeoutMs: 300, ...small });
      const r = await f.run();
      expect(r.error?.code).toBe('HRNG_HEALTH_FAILED');
      expect(r.error?.details).toMatchObject({ source: 'gone', test: 'rct', phase: 'startup' });
      expect(t.pool.latch()).toBe('HRNG_HEALTH_FAILED:gone:rct');
      expect(t.pool.available()).toBe(0);
    });
  }

  it('a periodic pattern is caught by the periodic test before anything reaches the pool', async () => {
    const t = fresh(1 << 20);
    const pattern = [0x13, 0x57, 0x9b, 0xdf, 0x24, 0x68, 0x11, 0x99, 0x42];
    const gen = (off: number, n: number) => Uint8Array.from({ length: n }, (_, i) => pattern[(off + i) % 9] as number);
    const f = new Filler({
      sources: [new ScriptedSource('periodic', gen, { claimedH: 4 })],
      pool: t.pool,
      events: t.events,
    });
    const r = await f.run();
    expect(r.error?.details).toMatchObject({ test: 'periodic', phase: 'startup' });
    expect(t.pool.available()).toBe(0);
  });

  it('when one of two sources fails, filling stops rather than continuing with the other', async () => {
    const t = fresh(1 << 20);
    const bad = new ScriptedSource('bad', (_o, n) => new Uint8Array(n), { claimedH: 4 });
    const f = new Filler({ sources: [new SimSource({ seed: 'g' }), bad], pool: t.pool, events: t.events });
    const r = await f.run();
    expect(r.state).toBe('failed');
    expect(r.error?.details.source).toBe('bad');
    expect(t.pool.available()).toBe(0);
  });

  it('a source that vanishes mid-fill stops filling with HRNG_SOURCE_LOST (not latched); held bytes are dropped', async () => {
    const t = fresh(1 << 20);
    const { gen, bytes } = streamOf('lost', 1 << 20);
    const endAt = HOLD + 100_000;
    const src = new ScriptedSource('lost', gen, { endAt, end: 'lost', chunk: 1000 });
    const f = new Filler({ sources: [src], pool: t.pool, events: t.events, chunkBytes: 512, ...small });
    const r = await f.run();
    expect(isOnepadError(r.error, 'HRNG_SOURCE_LOST')).toBe(true);
    // Only bytes released before the loss (at least the holdback before its end) can be in the pool.
    expectPoolFrom(t.root, t.pool.available(), bytes, 8, endAt - HOLD);
    expect(t.events.recent(5, ['HRNG_SOURCE_LOST'])[0]?.detail).toMatchObject({ source: 'lost' });
    expect(t.pool.latch()).toBe(null);
  });

  it('a source far slower than its minimum is caught at the end of the rate window (latched)', async () => {
    const t = fresh(1 << 20);
    const src = new ScriptedSource('slow', (o, n) => new SimStream(`slow${o}`).next(n), {
      chunk: 20,
      delayMs: 20,
      minBytesPerSecond: 10_000,
    });
    const f = new Filler({ sources: [src], pool: t.pool, events: t.events, rateWindowMs: 400, stallTimeoutMs: 5000 });
    const t0 = Date.now();
    const r = await f.run();
    expect(isOnepadError(r.error, 'HRNG_SOURCE_SLOW')).toBe(true);
    expect(r.error?.details.reason).toBe('slow');
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(t.pool.latch()).toMatch(/^HRNG_SOURCE_SLOW:slow/);
    expect(t.events.recent(5, ['HRNG_SOURCE_SLOW']).length).toBe(1);
  });

  it('a source that stops answering is caught by the stall timeout', async () => {
    const t = fresh(1 << 20);
    const { gen } = streamOf('stall', 1 << 16);
    const src = new ScriptedSource('stall', gen, { endAt: 3000, end: 'hang' });
    const f = new Filler({ sources: [src], pool: t.pool, events: t.events, stallTimeoutMs: 300 });
    const r = await f.run();
    expect(r.error?.details).toMatchObject({ source: 'stall', reason: 'stalled' });
    expect(src.closed).toBe(true);
  });

  it('a source that cannot be opened fails the run with HRNG_SOURCE_UNAVAILABLE', async () => {
    const t = fresh(1 << 20);
    const src = new ScriptedSource('gone', () => new Uint8Array(0), { failOpen: true });
    const r = await new Filler({ sources: [src], pool: t.pool, events: t.events }).run();
    expect(isOnepadError(r.error, 'HRNG_SOURCE_UNAVAILABLE')).toBe(true);
    expect(t.events.recent(1)[0]).toMatchObject({ kind: 'HRNG_SOURCE_LOST', detail: { reason: 'open failed' } });
  });

  it('each run reopens its sources and starts every test over', async () => {
    const t = fresh(1 << 20);
    // After its second open, the source starts with a stuck burst: only a fresh start calls it 'startup'.
    let opens = 0;
    const stream = new SimStream('reopen');
    let sinceOpen = 0;
    const src = new SimSource({ seed: 'unused' });
    src.open = async () => {
      opens++;
      sinceOpen = 0;
    };
    src.read = async (max: number) => {
      const n = Math.min(max, 4000);
      const out = stream.next(n);
      if (opens >= 2 && sinceOpen < 20) out.fill(0x5a, 0, Math.min(n, 20 - sinceOpen));
      sinceOpen += n;
      return out;
    };
    const f = new Filler({ sources: [src], pool: t.pool, chunkBytes: 512, ...small });
    expect((await f.run({ bytes: 1536 })).state).toBe('full');
    const r = await f.run({ bytes: 1024 });
    expect(r.error?.details).toMatchObject({ test: 'rct', phase: 'startup', sample: 8 });
  });

  it('refuses a damaged seed file rather than silently making a new one', async () => {
    const t = fresh(1 << 20);
    writeFileSync(join(t.root, 'hrng-seed.bin'), new Uint8Array(4136));
    const r = await new Filler({ sources: [new SimSource({ seed: 'x' })], pool: t.pool, ...small }).run();
    expect(r.error?.code).toBe('HRNG_SEED_INVALID');
    expect(t.pool.available()).toBe(0);
  });

  it('refuses a claimed min-entropy too low to extract from, and needs at least one source', () => {
    const t = fresh(4096);
    expect(() => new Filler({ sources: [new SimSource({ seed: 'x', claimedH: 0.2 })], pool: t.pool })).toThrow(
      RangeError,
    );
    expect(() => new Filler({ sources: [], pool: t.pool })).toThrow(RangeError);
  });
});
