/**
 * The pad engine's benchmark (issue 2):
 * - pad bytes consumed per message byte at L = 100 and 1000, measured from cursor movement, next to One Time
 *   Chat's 2L+48;
 * - package and unpackage per second with burning on and off, next to the raw fdatasync rate of the same disk;
 * - syncs per package and per unpackage on the critical path, from strace (when present) and from the in-process
 *   counters (pad-file syncs + ledger commits).
 * Everything runs in a temp dir under os.tmpdir(), removed at the end.
 */

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { benchMessage, countLedgerCommits, joinPackages, makeBenchPair, openBenchEngine } from './engine-setup.js';
import { straceAvailable, straceSyncs } from './engine-strace.js';
import { rawSyncs, type Slicing, type Throughput, throughput } from './engine-throughput.js';
import type { Reporter } from './report.js';

const BENCH = 'engine';
/** Message length for the throughput and sync-count runs. */
const L = 100;
/** Time slices of one throughput measurement (about 3.5 s in all). */
const SLICING: Slicing = { slices: 6, engineSeconds: 0.4, rawSeconds: 0.15 };
/** Calls per traced child run. */
const TRACED_CALLS = 400;

/** The mount holding `dir` (longest matching mount point in /proc/mounts), for the info line. */
function mountOf(dir: string): string {
  try {
    let best = { point: '', text: 'unknown' };
    for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) {
      const [dev, point, type] = line.split(' ');
      if (!dev || !point || !type) continue;
      const prefix = point.endsWith('/') ? point : `${point}/`;
      if ((dir === point || dir.startsWith(prefix)) && point.length >= best.point.length) {
        best = { point, text: `${dev} on ${point} (${type})` };
      }
    }
    return best.text;
  } catch {
    return 'unknown';
  }
}

/** Pad bytes per message byte, from the sender's use of key slots and stream over real packages. */
async function padBytesPerMessageByte(report: Reporter, work: string): Promise<void> {
  const messages = 20;
  for (const length of [100, 1000]) {
    const pair = makeBenchPair(work, 2 * messages * (length + 64) + 1024, length);
    const a = openBenchEngine(pair.dirA, 'alice', true);
    try {
      // Pad bytes used: stream (cursor movement) plus 32 per key slot (send index movement).
      const used = () => {
        const p = a.pads().find((x) => x.padId === pair.padId);
        return p ? p.cursor + 32 * p.sendIndex : Number.NaN;
      };
      const before = used();
      for (let i = 0; i < messages; i++) await a.package('bob', benchMessage(length, i));
      const perByte = Math.abs(used() - before) / (messages * length);
      const otc = (2 * length + 48) / length;
      report.figure({
        bench: BENCH,
        name: `pad bytes per message byte, L=${length}`,
        value: perByte,
        unit: 'B/B',
        baseline: { name: 'One Time Chat (2L+48)/L', value: otc, unit: 'B/B' },
        ratio: perByte / otc,
        note: `sender stream cursor + 32 x key slots used, over ${messages} packages (cost L+32)`,
      });
    } finally {
      a.close();
      pair.cleanup();
    }
  }
}

function reportThroughput(report: Reporter, t: Throughput, burn: boolean, raw: number): void {
  const mode = burn ? 'burning on' : 'burning off';
  const base = { name: 'raw fdatasync', value: raw, unit: 'syncs/s' };
  const cond = `L=${L}, ${t.pairs} pairs, autoApprove`;
  report.figure({
    bench: BENCH,
    name: `package/s, ${mode}`,
    value: t.packagePerSecond,
    unit: 'ops/s',
    baseline: base,
    ratio: t.packagePerSecond / raw,
    note: `${cond}; target ratio >= 0.5 (at most two syncs per package)`,
  });
  report.figure({
    bench: BENCH,
    name: `unpackage/s, ${mode}`,
    value: t.unpackagePerSecond,
    unit: 'ops/s',
    baseline: base,
    ratio: t.unpackagePerSecond / raw,
    note: cond,
  });
  report.figure({
    bench: BENCH,
    name: `package+unpackage/s, ${mode}`,
    value: t.pairsPerSecond,
    unit: 'pairs/s',
    baseline: base,
    ratio: t.pairsPerSecond / raw,
    note: `${cond}; A packages, B unpackages, same disk`,
  });
  for (const [op, v] of [
    ['package', t.packageSyncs],
    ['unpackage', t.unpackageSyncs],
  ] as const) {
    report.figure({
      bench: BENCH,
      name: `syncs per ${op} (in-process counters), ${mode}`,
      value: v,
      unit: 'syncs/op',
      note: `pad-file fdatasync/fsync + ledger commits (1 WAL fsync each, checkpoints not seen)${
        op === 'package' ? '; target <= 2' : ''
      }`,
    });
  }
}

/**
 * The same loop with burning on in a tmpfs dir, where a sync costs next to nothing: the CPU ceiling of the engine,
 * which says how much of the gap to the raw sync rate is not the syncs.
 */
async function cpuCeiling(report: Reporter): Promise<void> {
  const shm = '/dev/shm';
  if (!mountOf(shm).endsWith('(tmpfs)')) {
    report.info('engine: no tmpfs at /dev/shm, CPU ceiling not measured');
    return;
  }
  const work = mkdtempSync(join(shm, 'onepad-bench-engine-'));
  try {
    const t = await throughput(work, true, { slices: 1, engineSeconds: 1.5, rawSeconds: 0 }, L);
    for (const [op, v] of [
      ['package', t.packagePerSecond],
      ['unpackage', t.unpackagePerSecond],
    ] as const) {
      report.figure({
        bench: BENCH,
        name: `${op}/s, burning on, tmpfs (CPU ceiling, syncs ~free)`,
        value: v,
        unit: 'ops/s',
        note: `L=${L}, ${t.pairs} pairs in ${shm}; not the device's disk`,
      });
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Syncs per call seen by strace in a child process, package and unpackage, burning on and off. */
async function tracedSyncs(report: Reporter, work: string): Promise<void> {
  if (!straceAvailable()) {
    report.info('strace not found: syncs per operation are reported from the in-process counters only');
    return;
  }
  for (const burn of [true, false]) {
    const mode = burn ? 'burning on' : 'burning off';
    // A's half holds the packages made here for B plus the child's own: 2 x (count + 1) segments.
    const pair = makeBenchPair(work, 4 * (TRACED_CALLS + 1) * (L + 32) + 1024, L);
    try {
      // The packages B will unpackage, made in this process on A.
      const a = openBenchEngine(pair.dirA, 'alice', burn);
      const pkgs: Uint8Array[] = [];
      try {
        for (let i = 0; i <= TRACED_CALLS; i++) pkgs.push((await a.package('bob', benchMessage(L, i))).package);
      } finally {
        a.close();
      }
      const pkgFile = join(pair.root, 'packages.bin');
      writeFileSync(pkgFile, joinPackages(pkgs));
      const runs = [
        { op: 'package' as const, dir: pair.dirA, input: String(L) },
        { op: 'unpackage' as const, dir: pair.dirB, input: pkgFile },
      ];
      for (const r of runs) {
        let c: ReturnType<typeof straceSyncs>;
        try {
          c = straceSyncs({
            mode: r.op,
            dataDir: r.dir,
            burn,
            count: TRACED_CALLS,
            input: r.input,
            workDir: pair.root,
          });
        } catch (e) {
          // e.g. ptrace not permitted: say so and keep the in-process figures
          report.info(`engine: strace run failed (${r.op}, ${mode}): ${(e as Error).message.split('\n')[0]}`);
          continue;
        }
        const by = Object.entries(c.byFile)
          .map(([k, n]) => `${k} ${(n / c.calls).toFixed(3)}`)
          .join(', ');
        report.figure({
          bench: BENCH,
          name: `syncs per ${r.op} (strace), ${mode}`,
          value: c.syncs / c.calls,
          unit: 'syncs/op',
          note: `fsync+fdatasync+sync_file_range over ${c.calls} calls in a child: ${by || 'none'}; child counters ${(
            (c.inProcess.padSyncs + c.inProcess.ledgerCommits) / c.calls
          ).toFixed(3)}${r.op === 'package' ? '; target <= 2' : ''}`,
        });
      }
    } finally {
      pair.cleanup();
    }
  }
}

/**
 * The ceiling a SQLite ledger puts on the ratio: the rate of bare one-row commits (WAL, synchronous=FULL) on the
 * same disk, next to the raw fdatasync rate measured in alternating slices in the same run.
 */
function sqliteCommitCeiling(report: Reporter, work: string): void {
  const db = new Database(join(work, 'ceiling.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, x INTEGER NOT NULL); INSERT INTO t VALUES (1, 0);');
  const bump = db.prepare('UPDATE t SET x = x + 1 WHERE id = 1');
  const tx = db.transaction(() => bump.run());
  let commits = 0;
  let commitSecs = 0;
  let raw = 0;
  let rawSecs = 0;
  try {
    for (let slice = 0; slice < 4; slice++) {
      const r = rawSyncs(work, 0.15);
      raw += r.n;
      rawSecs += r.secs;
      const t0 = performance.now();
      while (performance.now() - t0 < 300) {
        tx();
        commits++;
      }
      commitSecs += (performance.now() - t0) / 1000;
    }
  } finally {
    db.close();
  }
  const commitRate = commits / commitSecs;
  const rawRate = raw / rawSecs;
  report.figure({
    bench: BENCH,
    name: 'bare SQLite commit rate (WAL, synchronous=FULL, one-row update)',
    value: commitRate,
    unit: 'commits/s',
    baseline: { name: 'raw fdatasync', value: rawRate, unit: 'syncs/s' },
    ratio: commitRate / rawRate,
    note: 'the reservation is one such commit: this ratio bounds package/s vs raw syncs for a SQLite ledger',
  });
}

/** Run the engine benchmark. */
export async function run(report: Reporter): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'onepad-bench-engine-'));
  report.info(`engine: machine ${cpus()[0]?.model ?? 'unknown'} x${cpus().length}, node ${process.version}`);
  report.info(`engine: disk dir ${work} on ${mountOf(work)}`);
  countLedgerCommits();
  try {
    await padBytesPerMessageByte(report, work);
    for (const burn of [true, false]) {
      const t = await throughput(work, burn, SLICING, L);
      report.figure({
        bench: BENCH,
        name: `raw fdatasync rate during the ${burn ? 'burning on' : 'burning off'} run`,
        value: t.raw.rate,
        unit: 'syncs/s',
        note: `64 B in-place write + fdatasync in the same dir, ${t.raw.slices} slices of ${
          SLICING.rawSeconds
        } s between the engine's; slices ${t.raw.min.toFixed(0)}..${t.raw.max.toFixed(0)}`,
      });
      reportThroughput(report, t, burn, t.raw.rate);
    }
    sqliteCommitCeiling(report, work);
    await cpuCeiling(report);
    await tracedSyncs(report, work);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
