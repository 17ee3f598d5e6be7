/**
 * One device of the pairing benchmark: `pairing-child.ts <config.json> <initiator|responder> <bytes> [profile]`.
 *
 * Fills its pool with `bytes` from the simulated HRNG through the real filler (health tests and all), prints
 * `filled {json}`, waits for `go` on stdin, then pairs over the link with auto-approve and prints `result {json}`:
 * the pairing time from the connected TCP socket to the end of `pairOverLink`, and the CPU time it took.
 * With `profile`, the pairing (only) runs under the V8 CPU profiler and the top functions by self time are added.
 */
import { readFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { loadConfig } from '../device/config/config.js';
import { prepareDataDir } from '../device/data-dir.js';
import { Ledger } from '../device/ledger/ledger.js';
import { fillSeeded, seededKey } from '../device/seeded.js';
import { Filler } from '../hrng/filler.js';
import { EntropyPool } from '../hrng/pool.js';
import { SimSource } from '../hrng/sim-source.js';
import { pairOverLink } from '../provisioning/pair.js';
import { type ProfileEntry, topSelfTime } from './pairing-profile.js';

const [configPath, role, bytesArg, profileArg] = process.argv.slice(2);
if (role !== 'initiator' && role !== 'responder') throw new Error('role must be initiator or responder');
const bytes = Number(bytesArg);
const config = loadConfig(configPath as string);
const layout = prepareDataDir(config.dataDir);

function print(tag: string, value: unknown): void {
  process.stdout.write(`${tag} ${JSON.stringify(value)}\n`);
}

/**
 * Seconds the main thread (where the protocol, hashing and synchronous syncs run) has spent runnable but waiting
 * for a CPU (/proc/thread-self/schedstat, second field), or NaN where that is not available. Separates CPU
 * contention from waiting on the disk or the peer.
 */
function runQueueSeconds(): number {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[1]) / 1e9;
  } catch {
    return Number.NaN;
  }
}

// --- fill ------------------------------------------------------------------------------------------------
// ONEPAD_BENCH_PAIR_FILL=direct appends the seeded stream straight into the pool (marked insecure), skipping
// the filler's health tests: the pairing measured afterwards is the same, and a big pool fills in seconds
// instead of minutes on a loaded machine. The filler's own rate is hrng's benchmark.
if (process.env.ONEPAD_BENCH_PAIR_FILL === 'direct') {
  const ledger = Ledger.open(layout.ledger);
  const pool = EntropyPool.open({ db: ledger.db, path: layout.pool, maxBytes: config.hrng.poolMaxBytes });
  const key = seededKey(`${config.device.name}-bench`);
  const buf = new Uint8Array(8 << 20);
  const cpu = process.cpuUsage();
  const queued = runQueueSeconds();
  const t0 = performance.now();
  for (let off = 0; off < bytes; off += buf.length) {
    const chunk = buf.subarray(0, Math.min(buf.length, bytes - off));
    fillSeeded(key, chunk, off);
    pool.append(chunk, true);
  }
  const seconds = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(cpu);
  const available = pool.available();
  pool.close();
  ledger.close();
  if (available < bytes) throw new Error(`pool holds ${available} bytes, wanted ${bytes}`);
  print('filled', {
    bytes,
    seconds,
    cpuSeconds: (c.user + c.system) / 1e6,
    runQueueSeconds: runQueueSeconds() - queued,
    direct: true,
  });
} else {
  const ledger = Ledger.open(layout.ledger);
  const pool = EntropyPool.open({ db: ledger.db, path: layout.pool, maxBytes: config.hrng.poolMaxBytes });
  const filler = new Filler({
    sources: [new SimSource({ seed: `${config.device.name}-bench`, chunk: 65_536 })],
    pool,
    alphaLog2: config.hrng.alphaLog2,
    chunkBytes: config.hrng.chunkBytes,
    readBytes: 65_536,
  });
  const cpu = process.cpuUsage();
  const queued = runQueueSeconds();
  const t0 = performance.now();
  const r = await filler.run({ bytes });
  const seconds = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(cpu);
  const available = pool.available();
  pool.close();
  ledger.close();
  if (r.state === 'failed') throw r.error;
  if (available < bytes) throw new Error(`pool holds ${available} bytes, wanted ${bytes}`);
  print('filled', {
    bytes: r.appended,
    seconds,
    cpuSeconds: (c.user + c.system) / 1e6,
    runQueueSeconds: runQueueSeconds() - queued,
  });
}

// --- wait for the parent's go ----------------------------------------------------------------------------
await new Promise<void>((resolve, reject) => {
  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    if (line.trim() === 'go') {
      resolve(); // before close(), which emits 'close' at once
      rl.close();
    }
  });
  rl.on('close', () => reject(new Error('stdin closed before go')));
});

// --- pair ------------------------------------------------------------------------------------------------
const session = profileArg === 'profile' ? new Session() : null;
if (session) {
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
}
// Garbage collections during the pairing, by kind (major = mark-compact), with their pause time.
const gc = { minor: 0, major: 0, other: 0, ms: 0, on: false };
new PerformanceObserver((list) => {
  if (!gc.on) return;
  for (const e of list.getEntries()) {
    const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind;
    if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) gc.major++;
    else if (kind === constants.NODE_PERFORMANCE_GC_MINOR) gc.minor++;
    else gc.other++;
    gc.ms += e.duration;
  }
}).observe({ entryTypes: ['gc'] });
let connectedAt = 0;
let cpuAtConnect: NodeJS.CpuUsage = process.cpuUsage();
let queuedAtConnect = 0;
try {
  const result = await pairOverLink({
    config,
    role,
    approver: { approvePairing: async () => 'approved' },
    size: role === 'initiator' ? bytes : undefined,
    onConnected: () => {
      connectedAt = performance.now();
      cpuAtConnect = process.cpuUsage();
      queuedAtConnect = runQueueSeconds();
      gc.on = true;
      // Fire and forget: the profiler starts within microseconds, before the first frame is read.
      void session?.post('Profiler.start');
    },
  });
  const seconds = (performance.now() - connectedAt) / 1000;
  const c = process.cpuUsage(cpuAtConnect);
  const runQueue = runQueueSeconds() - queuedAtConnect;
  let profile: ProfileEntry[] | undefined;
  if (session) {
    const { profile: p } = await session.post('Profiler.stop');
    profile = topSelfTime(p, 12);
    session.disconnect();
  }
  print('result', {
    ok: true,
    role,
    size: result.size,
    padId: result.padId,
    fingerprint: result.fingerprint,
    seconds,
    cpuUser: c.user / 1e6,
    cpuSystem: c.system / 1e6,
    runQueueSeconds: runQueue,
    gc: { minor: gc.minor, major: gc.major, other: gc.other, ms: Math.round(gc.ms) },
    profile,
  });
} catch (e) {
  print('result', { ok: false, role, code: (e as { code?: string }).code ?? String(e) });
  process.exitCode = 3;
}
