import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { dataDirLayout } from '../../device/data-dir.js';
import { isOnepadError } from '../../device/errors.js';
import { Filler } from '../../hrng/filler.js';
import { SimSource, SimStream } from '../../hrng/sim-source.js';
import { ScriptedSource, streamOf, tmpPool } from './helpers.js';

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
function poolBytes(root: string, n: number): Buffer {
  return readFileSync(dataDirLayout(root).pool).subarray(0, n);
}

describe('Filler', () => {
  it('fills the pool with exactly the stream of one healthy source, marked insecure', async () => {
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
    expect(poolBytes(t.root, 100_000)).toEqual(Buffer.from(new SimStream('one').next(100_000)));
    expect(t.pool.insecure).toBe(true);
    expect(progress.at(-1)).toBe(100_000);
    const p = f.progress();
    expect(p.secondsToFull).toBe(0);
    expect(p.sources[0]).toMatchObject({ name: 'sim', rctCutoff: 5, aptCutoff: 16, gate: 'running' });
  });

  it('XORs two sources byte for byte, never producing more than each gave', async () => {
    const t = fresh(50_000);
    const a = new SimSource({ seed: 'a', name: 'a' });
    const b = new SimSource({ seed: 'b', name: 'b', chunk: 777 });
    const f = new Filler({ sources: [a, b], pool: t.pool, chunkBytes: 4096 });
    expect((await f.run()).state).toBe('full');
    const xa = new SimStream('a').next(50_000);
    const xb = new SimStream('b').next(50_000);
    expect(poolBytes(t.root, 50_000)).toEqual(Buffer.from(xa.map((v, i) => v ^ (xb[i] as number))));
  });

  it('stops at the requested byte count and when aborted', async () => {
    const t = fresh(1 << 20);
    const f = new Filler({ sources: [new SimSource({ seed: 'n' })], pool: t.pool, chunkBytes: 4096 });
    expect(await f.run({ bytes: 10_000 })).toMatchObject({ state: 'full', appended: 10_000 });
    const ac = new AbortController();
    const slow = new Filler({
      sources: [new SimSource({ seed: 's', bytesPerSecond: 20_000, chunk: 512 })],
      pool: t.pool,
      chunkBytes: 1 << 16,
    });
    setTimeout(() => ac.abort(), 300);
    const r = await slow.run({ signal: ac.signal });
    expect(r.state).toBe('stopped');
    // The staged chunk of whole passed windows was flushed on stop.
    expect(r.appended).toBeGreaterThan(0);
    expect(r.appended % 512).toBe(0);
  });

  it('a stuck-at source fails the health test: latched, event logged, the failing window not in the pool', async () => {
    const t = fresh(1 << 20);
    const { gen: good } = streamOf('stuck', 1 << 16);
    const failAt = 5000;
    const gen = (off: number, n: number) => {
      const out = good(off, n);
      for (let i = 0; i < n; i++) if (off + i >= failAt) out[i] = 0xa5;
      return out;
    };
    const src = new ScriptedSource('stuck', gen, { chunk: 300, claimedH: 8 });
    const f = new Filler({ sources: [src], pool: t.pool, events: t.events, chunkBytes: 512 });
    const r = await f.run();
    expect(r.state).toBe('failed');
    expect(isOnepadError(r.error, 'HRNG_HEALTH_FAILED')).toBe(true);
    expect(r.error?.details).toMatchObject({ source: 'stuck', test: 'rct', phase: 'continuous', sample: failAt + 4 });
    // The window holding the failure starts at 1024 + 7*512 = 4608; nothing from it is in the pool.
    const n = t.pool.available();
    expect(n).toBeGreaterThan(0);
    expect(n).toBeLessThanOrEqual(4608);
    expect(poolBytes(t.root, n)).toEqual(Buffer.from(good(0, n)));
    const ev = t.events.recent(5, ['HRNG_HEALTH_FAILURE'])[0];
    expect(ev?.detail).toMatchObject({ source: 'stuck', test: 'rct', sample: failAt + 4 });
    expect(src.closed).toBe(true);
    // Latched, also for a new filler (a restart): only resume lets it run.
    const again = new Filler({ sources: [new SimSource({ seed: 'x' })], pool: t.pool, events: t.events });
    await expect(again.run()).rejects.toMatchObject({ code: 'HRNG_HEALTH_FAILED' });
    again.resume();
    expect(t.events.recent(1)[0]?.kind).toBe('HRNG_RESUMED');
    expect((await again.run({ bytes: 2048 })).state).toBe('full');
  });

  it('a periodic pattern is caught by the APT during start-up; nothing reaches the pool', async () => {
    const t = fresh(1 << 20);
    const pattern = [0x13, 0x57, 0x9b, 0xdf, 0x24, 0x68];
    const gen = (off: number, n: number) => Uint8Array.from({ length: n }, (_, i) => pattern[(off + i) % 6] as number);
    const f = new Filler({
      sources: [new ScriptedSource('periodic', gen, { claimedH: 4 })],
      pool: t.pool,
      events: t.events,
    });
    const r = await f.run();
    expect(r.error?.details).toMatchObject({ test: 'apt', phase: 'startup' });
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

  it('a source that vanishes mid-fill stops filling with HRNG_SOURCE_LOST (not latched)', async () => {
    const t = fresh(1 << 20);
    const { gen } = streamOf('lost', 1 << 16);
    const src = new ScriptedSource('lost', gen, { endAt: 6000, end: 'lost', chunk: 1000 });
    const f = new Filler({ sources: [src], pool: t.pool, events: t.events, chunkBytes: 512 });
    const r = await f.run();
    expect(isOnepadError(r.error, 'HRNG_SOURCE_LOST')).toBe(true);
    expect(t.pool.available()).toBeLessThanOrEqual(5632); // the held partial window (6000 - 5632) was dropped
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

  it('each run reopens its sources and runs a new start-up test', async () => {
    const t = fresh(1 << 20);
    // After its second open, the source starts with a stuck burst: only a fresh start-up test calls it 'startup'.
    let opens = 0;
    const stream = new SimStream('reopen');
    let sinceOpen = 0;
    const src = new SimSource({ seed: 'unused' });
    src.open = async () => {
      opens++;
      sinceOpen = 0;
    };
    src.read = async (max: number) => {
      const n = Math.min(max, 1000);
      const out = stream.next(n);
      if (opens >= 2 && sinceOpen < 20) out.fill(0x5a, 0, Math.min(n, 20 - sinceOpen));
      sinceOpen += n;
      return out;
    };
    const f = new Filler({ sources: [src], pool: t.pool, chunkBytes: 512 });
    expect((await f.run({ bytes: 1536 })).state).toBe('full');
    const r = await f.run({ bytes: 1024 });
    expect(r.error?.details).toMatchObject({ test: 'rct', phase: 'startup', sample: 4 });
  });

  it('needs at least one source', () => {
    const t = fresh(4096);
    expect(() => new Filler({ sources: [], pool: t.pool })).toThrow(RangeError);
  });
});
