/**
 * Relay abuse benchmark (`npm run bench -- --only=relay-abuse`): one abusive source against four honest users,
 * side by side on one relay configuration without per-source limits (and the old 10 s / 30 s timeouts) and with
 * the shipped ones. The abuser first floods (new names, large packages into one honest user's queue) and then
 * holds as many connections open as it can (slowloris); the honest users keep chatting (on connections they
 * already hold), and one more joins 1 s into the slowloris phase, on a new connection. On loopback each client
 * has its own source address (127.0.0.x); as root, the same load runs again across network namespaces (one per
 * client, the relay in its own).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseRelayConfig } from '../client/relay-config.js';
import { startRelay } from '../client/relay-service.js';
import { addNamespaces, canUseNetns, deleteNamespaces, ip, spawnInNs } from '../test/helpers/netns.js';
import { type AbuserResult, type HonestResult, okShare, runAbuser, runHonest } from './relay-load.js';
import type { Reporter } from './report.js';

const DURATION_MS = 8000;
const FLOOD_MS = 3000;
/** A new user joins 1 s into the slowloris phase (a new connection, when the abuser holds all it can). */
const LATE_MS = FLOOD_MS + 1000;
const BASE = { maxNames: 200, logLevel: 'silent' } as const;
/** The relay as it was: no per-source limits, the old timeouts. */
const OFF = {
  ...BASE,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  perSource: {
    maxConnections: 10000,
    names: { burst: 100000, perHour: 1000000 },
    sends: { burst: 100000, perMinute: 1000000 },
    bytes: { burst: 1073741824, perMinute: 1073741824 },
    maxWaiting: 10000000,
    maxWaitingBytes: 1099511627776,
    maxWaitingPerRecipient: 1000000,
  },
};
const ON = { ...BASE };

const ABUSE = {
  durationMs: DURATION_MS,
  slowAfterMs: FLOOD_MS,
  slowConnections: 300,
  concurrency: 16,
  packageBytes: 60_000,
};
const RING = ['h1', 'h2', 'h3'] as const;

interface Run {
  readonly honest: HonestResult[];
  readonly late: HonestResult;
  readonly abuser: AbuserResult;
  readonly peakConnections: number;
}

function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
}

function merged(rs: HonestResult[]): Record<string, number> {
  const all: Record<string, number> = {};
  for (const r of rs) for (const [k, v] of Object.entries(r.sends)) all[k] = (all[k] ?? 0) + v;
  return all;
}

async function loopbackRun(config: Record<string, unknown>): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'onepad-bench-abuse-'));
  const relay = await startRelay({
    config: parseRelayConfig({ ...config, address: '127.0.0.1', dbPath: join(dir, 'r.db') }),
    port: 0,
  });
  try {
    const url = relay.url;
    const [abuser, late, ...honest] = await Promise.all([
      runAbuser({ url, localAddress: '127.0.0.66', victim: 'h1', ...ABUSE }),
      runHonest({
        url,
        localAddress: '127.0.0.9',
        name: 'late',
        peer: 'h1',
        durationMs: DURATION_MS,
        intervalMs: 150,
        delayMs: LATE_MS,
      }),
      ...RING.map((name, i) =>
        runHonest({
          url,
          localAddress: `127.0.0.${i + 2}`,
          name,
          peer: RING[(i + 1) % 3] as string,
          durationMs: DURATION_MS,
          intervalMs: 150,
        }),
      ),
    ]);
    return {
      honest: honest as HonestResult[],
      late: late as HonestResult,
      abuser: abuser as AbuserResult,
      peakConnections: relay.server.sourceConnections.peak(),
    };
  } finally {
    await relay.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function netnsRun(config: Record<string, unknown>): Promise<Run> {
  const tag = `onepad-rb${process.pid}`;
  const K = (process.pid % 150) + 50;
  const clients = ['a', 'h1', 'h2', 'h3', 'late'];
  const ns = (c: string) => `${tag}-${c}`;
  const addr = (i: number, host: 1 | 2) => `10.252.${K}.${i * 4 + host}`;
  const dir = mkdtempSync(join(tmpdir(), 'onepad-bench-abuse-ns-'));
  addNamespaces(ns('r'), ...clients.map(ns));
  try {
    clients.forEach((c, i) => {
      const r = `rb${process.pid % 10000}r${i}`;
      const cl = `rb${process.pid % 10000}c${i}`;
      ip('link', 'add', r, 'netns', ns('r'), 'type', 'veth', 'peer', 'name', cl, 'netns', ns(c));
      ip('-n', ns('r'), 'addr', 'add', `${addr(i, 1)}/30`, 'dev', r);
      ip('-n', ns(c), 'addr', 'add', `${addr(i, 2)}/30`, 'dev', cl);
      ip('-n', ns('r'), 'link', 'set', r, 'up');
      ip('-n', ns(c), 'link', 'set', cl, 'up');
      ip('-n', ns(c), 'route', 'add', 'default', 'via', addr(i, 1));
    });
    const cfg = { ...config, address: addr(0, 1), port: 4848, dbPath: join(dir, 'r.db') };
    const relay = spawnInNs(ns('r'), 'bench/relay-load.ts', ['relay', JSON.stringify(cfg)], 120_000);
    const url = `http://${addr(0, 1)}:4848`;
    const goFile = join(dir, 'go');
    const procs = [
      spawnInNs(
        ns('a'),
        'bench/relay-load.ts',
        ['abuser', JSON.stringify({ url, victim: 'h1', goFile, ...ABUSE })],
        120_000,
      ),
      spawnInNs(
        ns('late'),
        'bench/relay-load.ts',
        [
          'honest',
          JSON.stringify({
            url,
            name: 'late',
            peer: 'h1',
            goFile,
            durationMs: DURATION_MS,
            intervalMs: 150,
            delayMs: LATE_MS,
          }),
        ],
        120_000,
      ),
      ...RING.map((name, i) =>
        spawnInNs(
          ns(name),
          'bench/relay-load.ts',
          [
            'honest',
            JSON.stringify({ url, name, peer: RING[(i + 1) % 3], goFile, durationMs: DURATION_MS, intervalMs: 150 }),
          ],
          120_000,
        ),
      ),
    ];
    const until = Date.now() + 60_000;
    while (!relay.output().includes('ready') || !procs.every((p) => p.output().includes('loaded'))) {
      if (Date.now() > until) throw new Error('namespace processes did not start');
      await new Promise((r) => setTimeout(r, 50));
    }
    writeFileSync(goFile, '');
    const outs = await Promise.all(procs.map((p) => p.done));
    relay.child.kill('SIGTERM');
    const relayOut = await relay.done;
    const last = (s: string) => JSON.parse(s.trim().split('\n').pop() as string);
    const [abuser, late, ...honest] = outs.map((o) => last(o.stdout));
    return { abuser, late, honest, peakConnections: last(relayOut.stdout).peakConnectionsPerSource };
  } finally {
    deleteNamespaces(ns('r'), ...clients.map(ns));
    rmSync(dir, { recursive: true, force: true });
  }
}

function report(r: Reporter, where: string, off: Run, on: Run): void {
  const b = 'relay-abuse';
  const share = (x: Run) => okShare(merged(x.honest));
  r.figure({
    bench: b,
    name: `${where}: honest sends answered ok, per-source limits on`,
    value: share(on) * 100,
    unit: '%',
    baseline: { name: 'limits off', value: share(off) * 100, unit: '%' },
    ...(share(off) > 0 ? { ratio: share(on) / share(off) } : {}),
    note: `${Object.values(merged(on.honest)).reduce((a, c) => a + c, 0)} sends by 3 users in ${DURATION_MS / 1000} s`,
  });
  const done = (x: Run) => merged(x.honest).ok ?? 0;
  r.figure({
    bench: b,
    name: `${where}: honest sends completed, limits on`,
    value: done(on),
    unit: 'sends',
    baseline: { name: 'limits off', value: done(off), unit: 'sends' },
    ...(done(off) > 0 ? { ratio: done(on) / done(off) } : {}),
    note: `3 users, a round every 150 ms at most, ${DURATION_MS / 1000} s`,
  });
  const lat = (x: Run, p: number) =>
    percentile(
      x.honest.flatMap((h) => h.latenciesMs),
      p,
    );
  for (const p of [50, 95]) {
    r.figure({
      bench: b,
      name: `${where}: honest send latency p${p}, limits on`,
      value: lat(on, p),
      unit: 'ms',
      baseline: { name: 'limits off', value: lat(off, p), unit: 'ms' },
      ratio: lat(on, p) / lat(off, p),
    });
  }
  r.figure({
    bench: b,
    name: `${where}: a user joining during the slowloris, sends ok, limits on`,
    value: okShare(on.late.sends) * 100,
    unit: '%',
    baseline: { name: 'limits off', value: okShare(off.late.sends) * 100, unit: '%' },
    note: `on: ${JSON.stringify(on.late.sends)} off: ${JSON.stringify(off.late.sends)}`,
  });
  r.figure({
    bench: b,
    name: `${where}: names the abuser registered, limits on`,
    value: on.abuser.names,
    unit: 'names',
    baseline: { name: 'limits off', value: off.abuser.names, unit: 'names' },
    note: `maxNames ${BASE.maxNames}`,
  });
  r.figure({
    bench: b,
    name: `${where}: abuser's packages stored for one user, limits on`,
    value: on.abuser.sends.ok ?? 0,
    unit: 'messages',
    baseline: { name: 'limits off', value: off.abuser.sends.ok ?? 0, unit: 'messages' },
    note: `${ABUSE.packageBytes} B each, ${FLOOD_MS / 1000} s of flood`,
  });
  r.figure({
    bench: b,
    name: `${where}: most connections the relay held from the abuser, limits on`,
    value: on.peakConnections,
    unit: 'connections',
    baseline: { name: 'limits off', value: off.peakConnections, unit: 'connections' },
    note: `${ABUSE.slowConnections} slowloris connections tried; ${on.abuser.slowTimedOut} cut by REQUEST_TIMEOUT (on), ${off.abuser.slowTimedOut} (off)`,
  });
  r.info(`${where}: honest outcomes on ${JSON.stringify(merged(on.honest))} off ${JSON.stringify(merged(off.honest))}`);
}

/** Run the relay abuse benchmark and report its figures. */
export async function run(r: Reporter): Promise<void> {
  const off = await loopbackRun(OFF);
  const on = await loopbackRun(ON);
  report(r, 'loopback', off, on);
  if (!canUseNetns) {
    r.info('relay-abuse: not root, namespace run skipped');
    return;
  }
  const nsOff = await netnsRun(OFF);
  const nsOn = await netnsRun(ON);
  report(r, 'netns', nsOff, nsOn);
}
