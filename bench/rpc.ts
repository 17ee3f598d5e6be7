/**
 * RPC benchmark: round-trip latency (p50, p99) of package and unpackage through the link server on loopback,
 * with an always-approve confirmation, next to the same engine calls made in process.
 *
 * Each path gets its own fresh seeded pad pair, so both do the same work: the engine burns (overwrites and
 * fdatasyncs) every used segment, which dominates both. The client opens one connection per call, as the CLI does.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../device/config/config.js';
import { autoApprove } from '../device/confirm.js';
import { DeviceEngine } from '../device/engine.js';
import { createPadPair } from '../device/pad-pair.js';
import { LinkClient } from '../rpc/client.js';
import { build, listen } from '../rpc/server.js';
import type { Reporter } from './report.js';

const MESSAGES = 300;
const WARMUP = 20;
const TEXT = 'x'.repeat(100);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

async function time<T>(samples: number[], f: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const r = await f();
  samples.push(performance.now() - t0);
  return r;
}

function engines(root: string, name: string) {
  const dirA = join(root, `${name}-alice`);
  const dirB = join(root, `${name}-bob`);
  const size = 2 * (MESSAGES + WARMUP) * (TEXT.length + 32) + 4096;
  createPadPair({
    dirA,
    dirB,
    nameA: 'alice',
    nameB: 'bob',
    size,
    source: { kind: 'seeded', seed: name },
    typicalLength: TEXT.length,
  });
  const cfg = (dataDir: string, port: number) =>
    parseConfig({
      dataDir,
      device: { simulated: true },
      link: { address: '127.0.0.1', peer: '127.0.0.1', port, logLevel: 'silent' },
    });
  return {
    alice: DeviceEngine.open({ config: cfg(dirA, 1), confirmer: autoApprove }),
    bob: DeviceEngine.open({ config: cfg(dirB, 1), confirmer: autoApprove }),
    config: cfg(dirA, 1),
  };
}

/** Run the RPC benchmark and report its figures. */
export async function run(report: Reporter): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'onepad-bench-rpc-'));
  try {
    const text = new TextEncoder().encode(TEXT);
    // In process.
    const direct = engines(root, 'direct');
    const dPack: number[] = [];
    const dUnpack: number[] = [];
    for (let i = 0; i < MESSAGES + WARMUP; i++) {
      const p = await time(i < WARMUP ? [] : dPack, () => direct.alice.package('bob', text));
      await time(i < WARMUP ? [] : dUnpack, () => direct.bob.unpackage(p.package));
    }
    direct.alice.close();
    direct.bob.close();

    // Through two link servers on loopback.
    const linked = engines(root, 'linked');
    const appA = build({ engine: linked.alice, config: linked.config });
    const appB = build({ engine: linked.bob, config: linked.config });
    const a = await listen(appA, linked.config.link, { simulated: false, port: 0 });
    const b = await listen(appB, linked.config.link, { simulated: false, port: 0 });
    const clientA = new LinkClient({ url: `http://127.0.0.1:${a.port}` });
    const clientB = new LinkClient({ url: `http://127.0.0.1:${b.port}` });
    const lPack: number[] = [];
    const lUnpack: number[] = [];
    for (let i = 0; i < MESSAGES + WARMUP; i++) {
      const p = await time(i < WARMUP ? [] : lPack, () => clientA.package('bob', { text: TEXT }));
      const u = await time(i < WARMUP ? [] : lUnpack, () => clientB.unpackage(p.package));
      if (u.text !== TEXT) throw new Error('round trip changed the message');
    }
    await appA.close();
    await appB.close();
    linked.alice.close();
    linked.bob.close();

    report.info(`rpc: ${MESSAGES} messages of ${TEXT.length} bytes, burning on, loopback, one connection per call`);
    for (const [what, viaLink, inProc] of [
      ['package', lPack, dPack],
      ['unpackage', lUnpack, dUnpack],
    ] as const) {
      const l = [...viaLink].sort((x, y) => x - y);
      const d = [...inProc].sort((x, y) => x - y);
      for (const p of [50, 99]) {
        const value = percentile(l, p);
        const base = percentile(d, p);
        report.figure({
          bench: 'rpc',
          name: `${what} round trip p${p}, through the link server`,
          value,
          unit: 'ms',
          baseline: { name: `in process p${p}`, value: base, unit: 'ms' },
          ratio: value / base,
          note: 'always-approve confirmation',
        });
      }
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
