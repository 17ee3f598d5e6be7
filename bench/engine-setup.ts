/**
 * Shared set-up for the engine benchmark and its strace child: a pair of data dirs with a seeded (insecure) pad,
 * engines opened on them with {@link autoApprove}, and an in-process count of ledger commits.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../device/config/config.js';
import { autoApprove } from '../device/confirm.js';
import { DeviceEngine } from '../device/engine.js';
import { Ledger } from '../device/ledger/ledger.js';
import { createPadPair } from '../device/pad-pair.js';

/** A seeded pad between alice (side A, contact "bob") and bob (side B, contact "alice"). */
export interface BenchPair {
  readonly root: string;
  readonly dirA: string;
  readonly dirB: string;
  readonly padId: string;
  /** Remove both data dirs (close the engines first). */
  cleanup(): void;
}

/**
 * Make a fresh pair of data dirs under `parent` holding a seeded pad of `size` bytes, its key areas sized for
 * messages of `typicalLength` (so a pad sized for n messages of that length has n key slots).
 * @throws OnepadError from pad installation (INVALID_ARGUMENT, DATA_DIR_UNSAFE)
 */
export function makeBenchPair(parent: string, size: number, typicalLength?: number): BenchPair {
  const root = mkdtempSync(join(parent, 'onepad-bench-'));
  const dirA = join(root, 'alice');
  const dirB = join(root, 'bob');
  const { padId } = createPadPair({
    dirA,
    dirB,
    nameA: 'alice',
    nameB: 'bob',
    size,
    source: { kind: 'seeded', seed: 'onepad-bench' },
    ...(typicalLength !== undefined ? { typicalLength } : {}),
  });
  return { root, dirA, dirB, padId, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

/**
 * Open an engine on a data dir with burning on or off, approving every request.
 * @throws OnepadError as {@link DeviceEngine.open}
 */
export function openBenchEngine(dataDir: string, name: string, burn: boolean): DeviceEngine {
  const config = parseConfig({ dataDir, device: { name, simulated: true }, engine: { burn } });
  return DeviceEngine.open({ config, confirmer: autoApprove });
}

/**
 * Ledger commits (durable transactions) this process made. Every ledger state change goes through the ledger's
 * one transaction helper; with WAL and synchronous=FULL each commit fsyncs the WAL once (checkpoints, every
 * ~1000 WAL pages, add syncs this count does not see).
 */
export const ledgerCommitCounter = { commits: 0 };

type WriteFn = (this: Ledger, fn: () => void) => void;
let installed = false;

/** Wrap the ledger's transaction helper so {@link ledgerCommitCounter} counts commits. Idempotent. */
export function countLedgerCommits(): void {
  if (installed) return;
  const proto = Ledger.prototype as unknown as { write: WriteFn };
  const original = proto.write;
  if (typeof original !== 'function') throw new Error('Ledger.prototype.write not found: update bench/engine-setup.ts');
  proto.write = function (this: Ledger, fn: () => void): void {
    original.call(this, fn);
    ledgerCommitCounter.commits++;
  };
  installed = true;
}

/** A deterministic message of `length` bytes (content does not matter to the engine's cost). */
export function benchMessage(length: number, i: number): Uint8Array {
  const m = new Uint8Array(length);
  for (let k = 0; k < length; k++) m[k] = 97 + ((i + k) % 26);
  return m;
}

/** Paths the strace child tries to open around its measured calls (they never exist). */
export const MARK_BEGIN = '/nonexistent-onepad-bench/mark-begin';
export const MARK_END = '/nonexistent-onepad-bench/mark-end';

/** Join packages into one buffer, each prefixed by its u32 big-endian length. */
export function joinPackages(pkgs: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(pkgs.reduce((n, p) => n + 4 + p.length, 0));
  const view = new DataView(out.buffer);
  let off = 0;
  for (const p of pkgs) {
    view.setUint32(off, p.length);
    out.set(p, off + 4);
    off += 4 + p.length;
  }
  return out;
}

/** Split a buffer made by {@link joinPackages}. */
export function splitPackages(buf: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  for (let off = 0; off + 4 <= buf.length; ) {
    const n = view.getUint32(off);
    out.push(buf.subarray(off + 4, off + 4 + n));
    off += 4 + n;
  }
  return out;
}
