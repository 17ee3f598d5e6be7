/**
 * The whole HRNG pipeline of two checkouts side by side in one process, alternating, by CPU time: another
 * checkout (`before`, e.g. `git worktree add /tmp/before <commit>` with its node_modules) and this one (`after`).
 * `node --import tsx bench/hrng-compare.ts /tmp/before [parts]`: per case CPU s per raw MB, MB per CPU second
 * and the ratio to a TrueRNG's 50 KB/s, two rounds; `parts` gives each gate test's CPU ms per MB instead.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
const other = process.argv[2];
if (!other) throw new Error('usage: bench/hrng-compare.ts OTHER_CHECKOUT [parts]');
const trees = { before: other.replace(/\/$/, ''), after: here } as const;
/** What is used of each checkout (typed by this one's modules; the other's have the same shape). */
interface Mods {
  Filler: typeof import('../hrng/filler.js').Filler;
  EntropyPool: typeof import('../hrng/pool.js').EntropyPool;
  prepareDataDir: typeof import('../device/data-dir.js').prepareDataDir;
  openLedgerDb: typeof import('../device/ledger/open.js').openLedgerDb;
  gk: typeof import('../hrng/gate-kernels.js');
  kern: typeof import('../hrng/kernels.js');
}
type KernelMemoryT = import('../hrng/kernels.js').KernelMemory;
const mods: Record<string, Mods> = {};
for (const [k, root] of Object.entries(trees)) {
  mods[k] = {
    Filler: (await import(`${root}/hrng/filler.ts`)).Filler,
    EntropyPool: (await import(`${root}/hrng/pool.ts`)).EntropyPool,
    prepareDataDir: (await import(`${root}/device/data-dir.ts`)).prepareDataDir,
    openLedgerDb: (await import(`${root}/device/ledger/open.ts`)).openLedgerDb,
    gk: await import(`${root}/hrng/gate-kernels.ts`),
    kern: await import(`${root}/hrng/kernels.ts`),
  };
}
const data = new Uint8Array(randomBytes(48 << 20));
function src(h: number): import('../hrng/source.js').RawSource {
  let off = 0;
  return {
    name: 'b',
    kind: 'simulated',
    insecure: true,
    claimedH: h,
    minBytesPerSecond: 0,
    open: async () => {},
    close: async () => {},
    info: () => ({}),
    read: async (max: number) => {
      const n = Math.min(max, 65536);
      if (off + n > data.length) off = 0;
      off += n;
      return data.slice(off - n, off);
    },
  };
}
async function fill(m: Mods, h: number, chunk: number, bytes: number, two = false) {
  const root = mkdtempSync(join(tmpdir(), 'h13-side-'));
  const layout = m.prepareDataDir(root);
  const db = m.openLedgerDb(layout.ledger);
  const pool = m.EntropyPool.open({ db, path: layout.pool, maxBytes: bytes });
  const sources = two ? [src(h), src(h)] : [src(h)];
  if (two) {
    const s2 = sources[1]!;
    let off = 24 << 20;
    s2.read = async (max: number) => {
      const n = Math.min(max, 65536);
      if (off + n > data.length) off = 0;
      off += n;
      return data.slice(off - n, off);
    };
  }
  const filler = new m.Filler({ sources, pool, chunkBytes: chunk, readBytes: 65536 });
  const c = process.cpuUsage();
  const r = await filler.run({ bytes });
  const d = process.cpuUsage(c);
  const raw =
    filler.progress().sources.reduce((a: number, s: { rawBytes: number }) => a + s.rawBytes, 0) / sources.length;
  pool.close();
  db.close();
  rmSync(root, { recursive: true, force: true });
  if (r.state !== 'full') throw new Error(r.state);
  return (d.user + d.system) / 1e6 / (raw / 1e6);
}
function parts(m: Mods, h: number) {
  const { KernelMemory, Stage, STAGE_BYTES } = m.kern;
  const g = m.gk;
  const out: string[] = [];
  const N = 32 << 20;
  for (const [name, make] of [
    ['periodic', (mem: KernelMemoryT) => new g.KernelPeriodic(mem, 30, h)],
    ['repeat', (mem: KernelMemoryT) => new g.KernelRepeat(mem)],
    ['collision', (mem: KernelMemoryT) => new g.KernelCollision(mem, 30, h)],
    ['fips', (mem: KernelMemoryT) => new g.KernelFipsRate(mem, 30)],
    ['mcv', (mem: KernelMemoryT) => new g.KernelMcv(mem, 30, h)],
  ] as const) {
    const mem = new KernelMemory();
    const t = make(mem);
    const stage = new Stage(mem, STAGE_BYTES, g.STAGE_HISTORY);
    const c = process.cpuUsage();
    for (let o = 0; o < N; o += STAGE_BYTES) t.feedStaged(stage.put(data.subarray(o, o + STAGE_BYTES)), STAGE_BYTES);
    const d = process.cpuUsage(c);
    out.push(`${name} ${((d.user + d.system) / 1e3 / (N / 1e6)).toFixed(2)}`);
  }
  return out.join(' ');
}
const which = process.argv[3] ?? 'fill';
for (let round = 1; round <= 2; round++) {
  console.log(`# round ${round}, load average ${loadavg()[0]!.toFixed(1)}`);
  for (const k of ['before', 'after']) {
    const m = mods[k] as Mods;
    if (which === 'parts') {
      console.log(k.padEnd(7), 'H=4 ms/MB:', parts(m, 4));
      continue;
    }
    const a = await fill(m, 4, 4 << 20, 12 << 20);
    const b = await fill(m, 8, 4 << 20, 24 << 20);
    const c = await fill(m, 4, 64 << 10, 4 << 20);
    const t = await fill(m, 4, 4 << 20, 8 << 20, true);
    const f = (x: number) =>
      `${x.toFixed(4)} CPU s/MB = ${(1 / x).toFixed(1)} MB/s per CPU s = ${(1 / x / 0.05).toFixed(0)}x`;
    console.log(
      `${k.padEnd(7)} one source H=4: ${f(a)} | H=8: ${f(b)} | H=4 64 KiB chunks: ${f(c)} | two sources H=4 (per source MB): ${f(t)}`,
    );
  }
}
