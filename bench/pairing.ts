/**
 * Pairing throughput over a cable: two device processes in two network namespaces joined by a veth pair pair a
 * pad of ONEPAD_BENCH_PAIR_MB MiB (default 256), each drawing from its own pool filled beforehand from the
 * simulated HRNG through the real filler. Measured in the same run, over the same link and on the same disk:
 * raw TCP (one 1 MiB-write stream between the namespaces) and a raw synced write of the same size (fsync at the
 * end; also with an fdatasync per 1 MiB, as the pool burns per chunk). The pairing figure is compared with the
 * slower of raw TCP and the raw synced write.
 *
 * Needs root and iproute2. ONEPAD_BENCH_DIR moves the data dirs (default os.tmpdir());
 * ONEPAD_BENCH_PAIR_PADS_DIR puts each device's pads/ on another file system (a bind mount of a folder there), so
 * with ONEPAD_BENCH_DIR on a tmpfs the pools (filled, drawn and burned: 4 × the size across both devices) stay in
 * memory and only the two pads and the raw-write baseline reach the disk: a 4 GiB pairing then writes 2 × 4 GiB of
 * pads plus a baseline cut to what is left of 10 GB (the figure says its size).
 * ONEPAD_BENCH_PAIR_PROFILE=1 runs the pairing under the V8 CPU profiler and prints where each side's CPU went.
 */

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  createReadStream,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { padFilePath } from '../device/pad-file.js';
import {
  addNamespaces,
  canUseNetns,
  deleteNamespaces,
  joinWithVeth,
  removeLeftoverNamespaces,
} from '../test/helpers/netns.js';
import { timeSyncedWrite } from './pairing-disk.js';
import { pairingParts } from './pairing-parts.js';
import { BenchChild } from './pairing-proc.js';
import type { ProfileEntry } from './pairing-profile.js';
import type { Reporter } from './report.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MB = 1e6;
const MIB = 1 << 20;
const PREFIX = 'onepad-b';
const CHILD = 'bench/pairing-child.ts';
const TCP = 'bench/pairing-tcp.ts';
/** What one bench run may write to the disk. */
const DISK_BUDGET = 10e9;

interface PairResult {
  readonly ok: boolean;
  readonly code?: string;
  readonly size: number;
  readonly padId: string;
  readonly fingerprint: string;
  readonly seconds: number;
  readonly cpuUser: number;
  readonly cpuSystem: number;
  readonly runQueueSeconds: number;
  readonly gc?: { minor: number; major: number; other: number; ms: number };
  readonly profile?: ProfileEntry[];
}

/** The mount source and point of the file system holding `path`, from /proc/self/mountinfo. */
function mountOf(path: string): string {
  const dev = statSync(path).dev;
  const major = Math.floor(dev / 256) & 0xfff;
  const minor = (dev & 0xff) | ((dev >> 12) & 0xfff00);
  try {
    for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      const f = line.split(' ');
      if (f[2] !== `${major}:${minor}`) continue;
      const sep = f.indexOf('-');
      return `${f[sep + 2] ?? '?'} (${f[sep + 1] ?? '?'}) mounted at ${f[4] ?? '?'}`;
    }
  } catch {
    // not Linux
  }
  return `device ${major}:${minor}`;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Remove data dirs left by killed runs (`onepad-bench-pair-<pid>-*` whose process is gone): pads of 100s of MB. */
function removeLeftoverDirs(base: string): void {
  for (const name of readdirSync(base)) {
    const m = /^onepad-bench-pair-(\d+)-/.exec(name);
    if (m && Number(m[1]) !== process.pid && !alive(Number(m[1]))) {
      rmSync(join(base, name), { recursive: true, force: true });
    }
  }
}

function sizeFromEnv(): number {
  const raw = process.env.ONEPAD_BENCH_PAIR_MB ?? '256';
  const mib = Number(raw);
  if (!Number.isInteger(mib) || mib < 1 || mib > 16_384) {
    throw new RangeError('ONEPAD_BENCH_PAIR_MB must be a whole number of MiB between 1 and 16384');
  }
  return mib * MIB;
}

/** Pairing chunk size and window for the bench (ONEPAD_BENCH_PAIR_CHUNK_KB, ONEPAD_BENCH_PAIR_WINDOW). */
function chunkFromEnv(): { chunkBytes: number; window: number } {
  const kb = Number(process.env.ONEPAD_BENCH_PAIR_CHUNK_KB ?? '1024');
  const window = Number(process.env.ONEPAD_BENCH_PAIR_WINDOW ?? '8');
  if (!Number.isInteger(kb) || kb < 1 || kb > 16_384) throw new RangeError('ONEPAD_BENCH_PAIR_CHUNK_KB: 1..16384');
  if (!Number.isInteger(window) || window < 1 || window > 64) throw new RangeError('ONEPAD_BENCH_PAIR_WINDOW: 1..64');
  return { chunkBytes: kb * 1024, window };
}

function writeDeviceConfig(root: string, name: string, iface: string, bytes: number): string {
  const { chunkBytes, window } = chunkFromEnv();
  const path = join(root, `${name}.json`);
  writeFileSync(
    path,
    JSON.stringify({
      dataDir: join(root, name),
      device: { name, simulated: true },
      hrng: { sources: [{ kind: 'simulated' }], poolMaxBytes: bytes, chunkBytes: MIB },
      pairing: {
        interface: iface,
        chunkBytes,
        window,
        discoveryTimeoutMs: 30_000,
        ioTimeoutMs: 30_000,
        approvalTimeoutMs: 5000,
      },
    }),
  );
  return path;
}

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Run the pairing benchmark. */
export async function run(report: Reporter): Promise<void> {
  if (!canUseNetns) {
    report.info('pairing: needs root and iproute2 (`ip netns`); skipped, no figures');
    return;
  }
  const bytes = sizeFromEnv();
  const profile = process.env.ONEPAD_BENCH_PAIR_PROFILE === '1';
  // Generous but bounded: 1 MB/s would be far below anything this code does.
  const phaseMs = 30_000 + (bytes / MB) * 1000;
  const ns = { a: `${PREFIX}${process.pid}-a`, b: `${PREFIX}${process.pid}-b` };
  const dev = { a: `pb${process.pid}a`, b: `pb${process.pid}b` };
  removeLeftoverNamespaces(PREFIX);
  const base = process.env.ONEPAD_BENCH_DIR ?? tmpdir();
  removeLeftoverDirs(base);
  const root = mkdtempSync(join(base, `onepad-bench-pair-${process.pid}-`));
  const padsBase = process.env.ONEPAD_BENCH_PAIR_PADS_DIR;
  let padsRoot: string | null = null;
  const mounted: string[] = [];
  const unmount = () => {
    for (const m of mounted.splice(0)) execFileSync('umount', [m]);
  };
  const children: BenchChild[] = [];
  const spawnChild = (label: string, nsName: string, file: string, args: string[], limitMs: number) => {
    const c = new BenchChild(label, nsName, file, args, limitMs);
    children.push(c);
    return c;
  };
  try {
    if (padsBase) {
      removeLeftoverDirs(padsBase);
      padsRoot = mkdtempSync(join(padsBase, `onepad-bench-pair-${process.pid}-`));
      for (const name of ['alice', 'bob']) {
        const at = join(root, name, 'pads');
        mkdirSync(at, { recursive: true, mode: 0o700 });
        mkdirSync(join(padsRoot, name), { mode: 0o700 });
        execFileSync('mount', ['--bind', join(padsRoot, name), at]);
        mounted.push(at);
      }
    }
    const diskDir = padsRoot ?? root;
    // Pools (filled, drawn, burned) and pads of both devices, unless the pools are elsewhere; then the baseline.
    const devicesWrite = (padsRoot ? 2 : 6) * bytes;
    const writeBytes = Math.min(bytes, Math.floor((DISK_BUDGET - devicesWrite) / MIB) * MIB);
    if (writeBytes < 64 * MIB) {
      throw new RangeError(
        `a ${bytes / MIB} MiB pairing writes ${(devicesWrite / 1e9).toFixed(1)} GB here, over the ${DISK_BUDGET / 1e9} GB ` +
          'a bench may write (ONEPAD_BENCH_DIR on a tmpfs with ONEPAD_BENCH_PAIR_PADS_DIR on the disk writes only the pads)',
      );
    }
    report.info(
      `pairing: writes ${((devicesWrite + writeBytes) / 1e9).toFixed(2)} GB to ${padsRoot ? `${mountOf(padsRoot)} (pads) ` : ''}` +
        `${padsRoot ? `and ${mountOf(root)} (pools, not counted)` : mountOf(root)}`,
    );
    const same = statSync(root).dev === statSync(ROOT).dev;
    report.info(
      `pairing: ${bytes / MIB} MiB pad; data dirs in ${root} on ${mountOf(root)}, ` +
        `${same ? 'the same file system as' : 'NOT the same file system as'} the repo (${ROOT}); ` +
        `${cpus().length} cores; MB = 10^6 bytes`,
    );
    report.info(
      `pairing: load average at start ${loadavg()[0]?.toFixed(2)} (other work on the machine slows every figure)`,
    );
    addNamespaces(ns.a, ns.b);
    joinWithVeth(ns.a, dev.a, ns.b, dev.b);

    // --- pairing: fill both pools (in parallel), then pair ------------------------------------------------
    const cfgA = writeDeviceConfig(root, 'alice', dev.a, bytes);
    const cfgB = writeDeviceConfig(root, 'bob', dev.b, bytes);
    const extra = profile ? ['profile'] : [];
    const b = spawnChild('responder', ns.b, CHILD, [cfgB, 'responder', String(bytes), ...extra], 3 * phaseMs);
    const a = spawnChild('initiator', ns.a, CHILD, [cfgA, 'initiator', String(bytes), ...extra], 3 * phaseMs);
    const fills = await Promise.all([a.waitFor('filled', phaseMs), b.waitFor('filled', phaseMs)]);
    const fillRate = Math.min(...fills.map((f) => (f.bytes as number) / MB / (f.seconds as number)));
    const fillCpu = Math.max(...fills.map((f) => (f.cpuSeconds as number) / ((f.bytes as number) / MB)));
    const fillQueued = Math.max(...fills.map((f) => (f.runQueueSeconds as number) / (f.seconds as number)));
    report.figure({
      bench: 'pairing',
      name:
        fills[0]?.direct === true
          ? 'pool fill before pairing (seeded stream appended directly, ONEPAD_BENCH_PAIR_FILL=direct)'
          : 'pool fill before pairing (simulated HRNG, health tests)',
      value: fillRate,
      unit: 'MB/s',
      note:
        `slower of two devices filling at once; ${fillCpu.toFixed(3)} CPU s/MB; main thread waiting for a CPU ` +
        `up to ${(fillQueued * 100).toFixed(0)}% of the time; not part of the pairing time`,
    });
    a.send('go');
    b.send('go');
    const [ra, rb] = (await Promise.all([a.waitFor('result', phaseMs), b.waitFor('result', phaseMs)])) as unknown as [
      PairResult,
      PairResult,
    ];
    if (!ra.ok || !rb.ok) throw new Error(`pairing failed: initiator ${ra.code ?? 'ok'}, responder ${rb.code ?? 'ok'}`);
    if (ra.size !== bytes || rb.size !== bytes || ra.padId !== rb.padId || ra.fingerprint !== rb.fingerprint) {
      throw new Error('the two devices disagree on the pad (size, id or fingerprint)');
    }
    const padA = padFilePath(join(root, 'alice', 'pads'), ra.padId);
    const padB = padFilePath(join(root, 'bob', 'pads'), rb.padId);
    if (statSync(padA).size !== bytes || (await sha256File(padA)) !== (await sha256File(padB))) {
      throw new Error('the two pad files differ');
    }
    await Promise.all([a.exit(5000), b.exit(5000)]);
    // Free the disk (and the page cache's dirty pages are long synced) before the baselines.
    unmount();
    if (padsRoot) rmSync(padsRoot, { recursive: true, force: true });
    if (padsRoot) mkdirSync(padsRoot, { mode: 0o700 });
    rmSync(join(root, 'alice'), { recursive: true, force: true });
    rmSync(join(root, 'bob'), { recursive: true, force: true });

    // --- raw TCP over the same veth -----------------------------------------------------------------------
    const recv = spawnChild('tcp receiver', ns.b, TCP, ['recv', dev.b, String(bytes)], phaseMs);
    const where = await recv.waitFor('listening', 30_000);
    const send = spawnChild(
      'tcp sender',
      ns.a,
      TCP,
      ['send', String(where.address), dev.a, String(where.port), String(bytes)],
      phaseMs,
    );
    const tcp = await recv.waitFor('result', phaseMs);
    if (typeof tcp.seconds !== 'number') throw new Error(`raw TCP failed: ${String(tcp.error)}`);
    const sent = await send.waitFor('sent', phaseMs);
    await Promise.all([recv.exit(5000), send.exit(5000)]);
    // CPU per MB of one device's link work in a pairing: it sends the size and receives the size.
    const tcpCpuPerMb = ((tcp.cpuSeconds as number) + (sent.cpuSeconds as number)) / (bytes / MB);
    const tcpRate = bytes / MB / tcp.seconds;

    // --- raw TCP both ways at once: what a pairing's link carries (each side sends the pad's size) ----------
    const recvA = spawnChild('tcp receiver a', ns.a, TCP, ['recv', dev.a, String(bytes)], phaseMs);
    const recvB = spawnChild('tcp receiver b', ns.b, TCP, ['recv', dev.b, String(bytes)], phaseMs);
    const [atA, atB] = await Promise.all([recvA.waitFor('listening', 30_000), recvB.waitFor('listening', 30_000)]);
    const sendAB = spawnChild(
      'tcp sender a->b',
      ns.a,
      TCP,
      ['send', String(atB.address), dev.a, String(atB.port), String(bytes)],
      phaseMs,
    );
    const sendBA = spawnChild(
      'tcp sender b->a',
      ns.b,
      TCP,
      ['send', String(atA.address), dev.b, String(atA.port), String(bytes)],
      phaseMs,
    );
    const both = await Promise.all([recvA.waitFor('result', phaseMs), recvB.waitFor('result', phaseMs)]);
    if (both.some((r) => typeof r.seconds !== 'number')) throw new Error('raw TCP both ways failed');
    await Promise.all([recvA.exit(5000), recvB.exit(5000), sendAB.exit(5000), sendBA.exit(5000)]);
    const tcpBothRate = bytes / MB / Math.max(...both.map((r) => r.seconds as number));

    // --- raw synced writes to the same disk ---------------------------------------------------------------
    const writeEnd = writeBytes / MB / timeSyncedWrite(diskDir, writeBytes, false);
    // (The per-MiB fdatasync variant only at small sizes: it doubles the bench's writes.)
    const writeEach = bytes <= 256 * MIB ? bytes / MB / timeSyncedWrite(diskDir, bytes, true) : Number.NaN;

    // --- figures ------------------------------------------------------------------------------------------
    report.figure({
      bench: 'pairing',
      name: 'raw TCP over the veth link',
      value: tcpRate,
      unit: 'MB/s',
      note: 'one direction, 1 MiB writes, IPv6 link-local, timed at the receiver',
    });
    report.figure({
      bench: 'pairing',
      name: 'raw write, fsync at the end',
      value: writeEnd,
      unit: 'MB/s',
      note: `${writeBytes / MIB} MiB in 1 MiB writes, ${padsRoot ? 'on the file system of the pads' : 'same directory as the data dirs'}`,
    });
    report.figure({
      bench: 'pairing',
      name: 'raw TCP both ways at once over the veth',
      value: tcpBothRate,
      unit: 'MB/s',
      note: 'each direction carries the size, as in a pairing; slower direction; both share the 2 cores here',
    });
    if (Number.isFinite(writeEach))
      report.figure({
        bench: 'pairing',
        name: 'raw write, fdatasync every 1 MiB',
        value: writeEach,
        unit: 'MB/s',
        note: 'as the pool burns what pairing draws',
      });
    const slow = ra.seconds >= rb.seconds ? ra : rb;
    const pairRate = bytes / MB / slow.seconds;
    const baseline =
      tcpRate <= writeEnd
        ? { name: 'raw TCP over the veth', value: tcpRate, unit: 'MB/s' }
        : { name: 'raw synced write', value: writeEnd, unit: 'MB/s' };
    report.figure({
      bench: 'pairing',
      name: `pairing ${bytes / MIB} MiB over the veth, ${chunkFromEnv().chunkBytes / 1024} KiB chunks, window ${chunkFromEnv().window}`,
      value: pairRate,
      unit: 'MB/s',
      baseline,
      ratio: pairRate / baseline.value,
      note: `slower side (${slow === ra ? 'initiator' : 'responder'}), connect to pairOverLink end, auto-approve${
        profile ? '; UNDER THE CPU PROFILER' : ''
      }`,
    });
    const baseline2 =
      tcpBothRate <= writeEnd
        ? { name: 'raw TCP both ways at once', value: tcpBothRate, unit: 'MB/s' }
        : { name: 'raw synced write', value: writeEnd, unit: 'MB/s' };
    report.figure({
      bench: 'pairing',
      name: 'pairing against the same link work (both directions)',
      value: pairRate,
      unit: 'MB/s',
      baseline: baseline2,
      ratio: pairRate / baseline2.value,
      note: 'the same pairing figure, against min(TCP both ways at once, raw synced write)',
    });
    const unqueued = Math.max(ra.seconds - ra.runQueueSeconds, rb.seconds - rb.runQueueSeconds);
    if (Number.isFinite(unqueued) && unqueued > 0) {
      report.figure({
        bench: 'pairing',
        name: 'pairing, not counting main-thread time waiting for a CPU',
        value: bytes / MB / unqueued,
        unit: 'MB/s',
        note: 'derived: slower side, wall minus run-queue wait (load from other work on the machine)',
      });
    }
    const pairCpuPerMb = Math.max(ra.cpuUser + ra.cpuSystem, rb.cpuUser + rb.cpuSystem) / (bytes / MB);
    report.figure({
      bench: 'pairing',
      name: 'pairing CPU per MB (busier side) against raw TCP send + receive of the same bytes',
      value: pairCpuPerMb,
      unit: 'CPU s/MB',
      baseline: { name: 'raw TCP sender + receiver', value: tcpCpuPerMb, unit: 'CPU s/MB' },
      ratio: tcpCpuPerMb / pairCpuPerMb,
      note:
        'ratio = raw TCP CPU / pairing CPU: the throughput ratio when both are CPU-bound on equal CPU, which ' +
        'other load on the machine does not change (CPU time is not wall time)',
    });
    const busiest = Math.max(ra.cpuUser + ra.cpuSystem, rb.cpuUser + rb.cpuSystem);
    report.figure({
      bench: 'pairing',
      name: 'pairing CPU-bound ceiling (size / CPU time of the busier side)',
      value: bytes / MB / busiest,
      unit: 'MB/s',
      note: 'what pairing would reach with a core per device and no waiting; a derived figure',
    });
    for (const [label, r] of [
      ['initiator', ra],
      ['responder', rb],
    ] as const) {
      report.figure({
        bench: 'pairing',
        name: `pairing CPU, ${label}`,
        value: (r.cpuUser + r.cpuSystem) / (bytes / MB),
        unit: 'CPU s/MB',
        note:
          `${r.seconds.toFixed(2)} s wall; user ${r.cpuUser.toFixed(2)} s, system ${r.cpuSystem.toFixed(2)} s; ` +
          `${r.runQueueSeconds.toFixed(2)} s main thread waiting for a CPU` +
          (r.gc ? `; GC: ${r.gc.major} major, ${r.gc.minor} minor, ${r.gc.other} other, ${r.gc.ms} ms paused` : ''),
      });
      if (r.profile)
        report.info(`pairing profile ${label}: self time by function, share of wall time (samples run on)`);
      for (const p of r.profile ?? []) {
        report.info(`pairing profile ${label}: ${(p.share * 100).toFixed(1)}% ${p.selfMs.toFixed(0)} ms ${p.where}`);
      }
    }
    const partsMib = Math.min(64, bytes / MIB);
    report.info(`pairing: the per-chunk parts of one side, each alone in this process, on ${partsMib} MiB:`);
    await pairingParts(report, root, partsMib);
    report.info(`pairing: load average at end ${loadavg()[0]?.toFixed(2)}`);
  } finally {
    for (const c of children) c.kill();
    await Promise.all(children.map((c) => c.exit(5000)));
    deleteNamespaces(ns.a, ns.b);
    unmount();
    if (padsRoot) rmSync(padsRoot, { recursive: true, force: true });
    rmSync(root, { recursive: true, force: true });
  }
}
