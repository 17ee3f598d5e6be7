/**
 * `npm run bench -- --only=pipe`: onepad pipe against Debian's spiped and raw TCP, side by side in one run over
 * the same network namespaces (test/pipe/netns-world.ts: two laptops joined by veth, each with its simulated
 * device on a link of its own; root only). Figures:
 *   - bulk throughput through an echo service (bytes each way per second), as a ratio to spiped and to raw TCP;
 *   - interactive latency (one-byte round trip, median), as a difference from spiped and raw TCP;
 *   - pad consumed per payload byte, without padding and with --pad-to 1024, for bulk and for keystrokes;
 *   - where a keystroke's time goes: the median device requests of a keystrokes-only end, against its round trip;
 *   - a multiplexed channel through the pipe relay: bulk alone, and keystrokes while a bulk stream shares it.
 * Installs spiped with apt-get when missing (as the test setup does, from .ci/apt-packages).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makePair } from '../test/helpers/engine-fixture.js';
import { canUseNetns, type NsProcess } from '../test/helpers/netns.js';
import {
  client,
  errOf,
  makePipeNetns,
  type PipeNetns,
  runCmd,
  startPipeWorld,
  waitFor,
} from '../test/pipe/netns-world.js';
import { ensureDebianPackages } from '../test/setup/debian-packages.js';
import type { Reporter } from './report.js';

const BULK = 16 << 20;
const KEYS = 200;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

async function stop(ps: NsProcess[]): Promise<void> {
  for (const p of ps) p.child.kill('SIGTERM');
  await Promise.all(ps.map((p) => p.done));
}

/** The device requests an end made (count, mean wall ms on the laptop), from its exit line. */
function requests(p: NsProcess): { pkgN: number; pkgMs: number; unpN: number; unpMs: number } {
  const m = /device requests: package (\d+) \(median ([\d.]+) ms\), unpackage (\d+) \(median ([\d.]+) ms\)/.exec(
    errOf(p),
  );
  return m
    ? { pkgN: Number(m[1]), pkgMs: Number(m[2]), unpN: Number(m[3]), unpMs: Number(m[4]) }
    : { pkgN: Number.NaN, pkgMs: Number.NaN, unpN: Number.NaN, unpMs: Number.NaN };
}

function pipeEnd(ns: string, args: string[]): NsProcess {
  return runCmd(ns, process.execPath, ['--import', 'tsx', 'device/service/main.ts', 'pipe', ...args]);
}

/** Bytes of pad used and payload bytes sent, from the -e end's exit line. */
function padUse(p: NsProcess): { used: number; sent: number } {
  const m = /pad used (\d+) bytes for (\d+) bytes sent/.exec(errOf(p));
  return m ? { used: Number(m[1]), sent: Number(m[2]) } : { used: Number.NaN, sent: Number.NaN };
}

async function measure(n: PipeNetns, port: number, address?: string) {
  const b = await client(n, port, 'bulk', BULK, address);
  const i = await client(n, port, 'interactive', KEYS, address);
  if (!b.ok || !i.ok) throw new Error(`transfer failed on port ${port}: ${JSON.stringify(b).slice(0, 200)}`);
  return { bytesPerSec: BULK / ((b.ms ?? Number.NaN) / 1000), rttMs: median(i.rttMs ?? []) };
}

export async function run(report: Reporter): Promise<void> {
  if (!canUseNetns) {
    report.info('pipe: needs root and iproute2 (network namespaces); skipped');
    return;
  }
  ensureDebianPackages('.ci/apt-packages', (l) => report.info(`pipe: ${l}`));
  const n = makePipeNetns('b');
  // Each side sends about 16 MiB x 3 (bulk, bulk --in-flight 1, channel) + 5 MiB with its pad overhead: 256 MiB
  // leaves room (128 MiB ran out once the --in-flight 1 run was added).
  const pair = makePair(256 << 20);
  const keyDir = mkdtempSync(join(tmpdir(), 'onepad-spiped-'));
  const key = join(keyDir, 'key');
  writeFileSync(key, randomBytes(32), { mode: 0o600 });
  const all: NsProcess[] = [];
  try {
    // spiped between the same two laptop namespaces, in front of the same echo service.
    const w = await startPipeWorld(n, pair.dirA, pair.dirB);
    all.push(w.devA, w.devB, w.pipeD, ...w.echo);
    const spD = runCmd(n.ns.lapB, 'spiped', [
      '-F',
      '-d',
      '-s',
      `[${n.ip.lapB}]:9025`,
      '-t',
      '[127.0.0.1]:7000',
      '-k',
      key,
    ]);
    const spE = runCmd(n.ns.lapA, 'spiped', [
      '-F',
      '-e',
      '-s',
      '[127.0.0.1]:9025',
      '-t',
      `[${n.ip.lapB}]:9025`,
      '-k',
      key,
    ]);
    all.push(spD, spE);
    await new Promise((r) => setTimeout(r, 500));

    // Interleaved, so the machine's load falls on all three alike.
    const raw = await measure(n, 7001, n.ip.lapB);
    const sp = await measure(n, 9025);
    const op = await measure(n, 8025);
    await stop([w.pipeE]);
    const plain = padUse(w.pipeE);

    report.figure({
      bench: 'pipe',
      name: `bulk ${BULK >> 20} MiB through echo, onepad pipe`,
      value: op.bytesPerSec / 1e6,
      unit: 'MB/s',
      baseline: { name: 'spiped 1.6', value: sp.bytesPerSec / 1e6, unit: 'MB/s' },
      ratio: op.bytesPerSec / sp.bytesPerSec,
      note: 'goal >= 0.5',
    });
    report.figure({
      bench: 'pipe',
      name: 'bulk, onepad pipe vs raw TCP',
      value: op.bytesPerSec / 1e6,
      unit: 'MB/s',
      baseline: { name: 'raw TCP', value: raw.bytesPerSec / 1e6, unit: 'MB/s' },
      ratio: op.bytesPerSec / raw.bytesPerSec,
    });
    report.figure({
      bench: 'pipe',
      name: 'bulk, spiped vs raw TCP',
      value: sp.bytesPerSec / 1e6,
      unit: 'MB/s',
      baseline: { name: 'raw TCP', value: raw.bytesPerSec / 1e6, unit: 'MB/s' },
      ratio: sp.bytesPerSec / raw.bytesPerSec,
    });
    report.figure({
      bench: 'pipe',
      name: `keystroke round trip (median of ${KEYS}), onepad pipe`,
      value: op.rttMs,
      unit: 'ms',
      baseline: { name: 'spiped 1.6', value: sp.rttMs, unit: 'ms' },
      ratio: op.rttMs / sp.rttMs,
      note: `difference ${(op.rttMs - sp.rttMs).toFixed(2)} ms (goal within 2 ms); raw TCP ${raw.rttMs.toFixed(2)} ms`,
    });
    report.figure({
      bench: 'pipe',
      name: 'pad per payload byte sent, no padding (bulk + keystrokes)',
      value: plain.used / plain.sent,
      unit: 'B/B',
      note: `${plain.used} bytes of pad for ${plain.sent} bytes`,
    });

    // Where a keystroke's time goes: a fresh -e end that carries keystrokes only, its device requests timed.
    const keysOnly = pipeEnd(n.ns.lapA, [
      '-e',
      '-s',
      '[127.0.0.1]:8027',
      '-t',
      `[${n.ip.lapB}]:8025`,
      '--contact',
      'bob',
      '--device',
      `http://${n.ip.devA}:4747`,
    ]);
    all.push(keysOnly);
    await waitFor(keysOnly, /listening on/);
    const ko = await client(n, 8027, 'interactive', KEYS);
    if (!ko.ok) throw new Error('keystroke transfer failed');
    await stop([keysOnly]);
    const rq = requests(keysOnly);
    const koRtt = median(ko.rttMs ?? []);
    // Per keystroke: one package and one unpackage on each laptop; the -d side's are taken as equal to these.
    const devicePart = 2 * (rq.pkgMs + rq.unpMs);
    report.figure({
      bench: 'pipe',
      name: `keystroke round trip (median of ${KEYS}), split: 2 x (package + unpackage) device requests`,
      value: devicePart,
      unit: 'ms',
      baseline: { name: 'whole round trip', value: koRtt, unit: 'ms' },
      ratio: devicePart / koRtt,
      note: `laptop A: ${rq.pkgN} package requests, median ${rq.pkgMs} ms; ${rq.unpN} unpackage (fsynced), median ${rq.unpMs} ms; the rest (${(koRtt - devicePart).toFixed(1)} ms) is the wire and the laptops`,
    });

    // One device request in flight each way (as before --in-flight), against the default two, in this run.
    const one = pipeEnd(n.ns.lapA, [
      '-e',
      '-s',
      '[127.0.0.1]:8029',
      '-t',
      `[${n.ip.lapB}]:8025`,
      '--contact',
      'bob',
      '--device',
      `http://${n.ip.devA}:4747`,
      '--in-flight',
      '1',
    ]);
    all.push(one);
    await waitFor(one, /listening on/);
    const op1 = await measure(n, 8029);
    await stop([one]);
    report.figure({
      bench: 'pipe',
      name: `bulk ${BULK >> 20} MiB through echo, onepad pipe --in-flight 1`,
      value: op1.bytesPerSec / 1e6,
      unit: 'MB/s',
      baseline: { name: 'onepad pipe (2 in flight)', value: op.bytesPerSec / 1e6, unit: 'MB/s' },
      ratio: op1.bytesPerSec / op.bytesPerSec,
      note: `keystroke round trip ${op1.rttMs.toFixed(2)} ms (2 in flight: ${op.rttMs.toFixed(2)} ms)`,
    });

    // The same with every frame padded to 1024 bytes (as spiped's packets are).
    const padded = runCmd(n.ns.lapA, process.execPath, [
      '--import',
      'tsx',
      'device/service/main.ts',
      'pipe',
      '-e',
      '-s',
      '[127.0.0.1]:8026',
      '-t',
      `[${n.ip.lapB}]:8025`,
      '--contact',
      'bob',
      '--device',
      `http://${n.ip.devA}:4747`,
      '--pad-to',
      '1024',
    ]);
    all.push(padded);
    await waitFor(padded, /listening on/);
    const pk = await client(n, 8026, 'interactive', KEYS);
    const pb = await client(n, 8026, 'bulk', 1 << 20);
    if (!pk.ok || !pb.ok) throw new Error('padded transfer failed');
    await stop([padded]);
    const withPad = padUse(padded);
    report.figure({
      bench: 'pipe',
      name: `pad per payload byte sent, --pad-to 1024 (${KEYS} keystrokes + 1 MiB bulk)`,
      value: withPad.used / withPad.sent,
      unit: 'B/B',
      baseline: { name: 'no padding', value: plain.used / plain.sent, unit: 'B/B' },
      ratio: withPad.used / withPad.sent / (plain.used / plain.sent),
      note: `${withPad.used} bytes of pad for ${withPad.sent} bytes; a keystroke costs 1056 bytes of pad`,
    });
    // The same keystrokes and bulk on a multiplexed channel through the pipe relay (on lapB), both at once.
    const rl = runCmd(n.ns.lapB, process.execPath, [
      '--import',
      'tsx',
      'device/service/main.ts',
      'pipe-relay',
      '--address',
      n.ip.lapB,
      '--port',
      '4849',
    ]);
    all.push(rl);
    await waitFor(rl, /listening/);
    const r = `[${n.ip.lapB}]:4849`;
    await stop([w.pipeD]);
    const chD = pipeEnd(n.ns.lapB, [
      '-d',
      '--relay',
      r,
      '--channel',
      'bench',
      '-t',
      '[127.0.0.1]:7000',
      '--contact',
      'alice',
      '--device',
      `http://${n.ip.devB}:4747`,
    ]);
    const chE = pipeEnd(n.ns.lapA, [
      '-e',
      '--relay',
      r,
      '--channel',
      'bench',
      '-s',
      '[127.0.0.1]:8028',
      '--contact',
      'bob',
      '--device',
      `http://${n.ip.devA}:4747`,
    ]);
    all.push(chD, chE);
    await Promise.all([waitFor(chE, /listening on/), waitFor(chD, /channel open/)]);
    const chBulkAlone = await client(n, 8028, 'bulk', BULK);
    const [chKeys, chBulk] = await Promise.all([
      client(n, 8028, 'interactive', KEYS),
      client(n, 8028, 'bulk', 4 << 20),
    ]);
    if (!chKeys.ok || !chBulk.ok || !chBulkAlone.ok) {
      const what = JSON.stringify({ alone: chBulkAlone, keys: { ...chKeys, rttMs: undefined }, bulk: chBulk });
      throw new Error(`channel transfer failed: ${what}; -e: ${errOf(chE).slice(-600)}; -d: ${errOf(chD).slice(-600)}`);
    }
    const chBps = BULK / ((chBulkAlone.ms ?? Number.NaN) / 1000);
    report.figure({
      bench: 'pipe',
      name: `bulk ${BULK >> 20} MiB through echo, onepad pipe channel through the pipe relay`,
      value: chBps / 1e6,
      unit: 'MB/s',
      baseline: { name: 'spiped 1.6 (direct)', value: sp.bytesPerSec / 1e6, unit: 'MB/s' },
      ratio: chBps / sp.bytesPerSec,
    });
    report.figure({
      bench: 'pipe',
      name: `keystroke round trip (median of ${KEYS}) on the channel while a 4 MiB bulk stream shares it`,
      value: median(chKeys.rttMs ?? []),
      unit: 'ms',
      baseline: { name: 'onepad pipe, keystrokes alone', value: op.rttMs, unit: 'ms' },
      ratio: median(chKeys.rttMs ?? []) / op.rttMs,
      note: `spiped alone ${sp.rttMs.toFixed(2)} ms`,
    });
    await stop([chE, chD]);
  } finally {
    await stop(all.filter((p) => p.child.exitCode === null && p.child.signalCode === null));
    n.teardown();
    pair.cleanup();
    rmSync(keyDir, { recursive: true, force: true });
  }
}
