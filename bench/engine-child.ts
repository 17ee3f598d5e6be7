/**
 * Child process of the engine benchmark, run under strace:
 *
 * `node --import tsx bench/engine-child.ts <package|unpackage> <dataDir> <burn:on|off> <count> <length|packagesFile>`
 *
 * Opens the engine on `dataDir` (alice/side A for package, bob/side B for unpackage), does one warm-up call, then
 * opens a marker path that does not exist (`MARK_BEGIN`), performs exactly `count` calls, opens `MARK_END`, and
 * closes the engine. The parent counts the sync system calls strace saw between the two markers, so set-up,
 * warm-up and close (which flushes burned rows and checkpoints the WAL) are left out by construction.
 * Prints one JSON line with the in-process counters over the same window.
 */
import { openSync, readFileSync } from 'node:fs';
import { padSyncCounter } from '../device/pad-file.js';
import {
  benchMessage,
  countLedgerCommits,
  ledgerCommitCounter,
  MARK_BEGIN,
  MARK_END,
  openBenchEngine,
  splitPackages,
} from './engine-setup.js';

function mark(path: string): void {
  try {
    openSync(path, 'r');
  } catch {
    // expected: the marker path does not exist; the failed openat is what strace sees
  }
}

async function main(argv: string[]): Promise<void> {
  const [mode, dataDir, burnArg, countArg, input] = argv;
  const count = Number(countArg);
  if ((mode !== 'package' && mode !== 'unpackage') || !dataDir || !input || !Number.isSafeInteger(count)) {
    throw new Error('usage: engine-child.ts <package|unpackage> <dataDir> <on|off> <count> <length|packagesFile>');
  }
  const burn = burnArg === 'on';
  countLedgerCommits();
  const engine = openBenchEngine(dataDir, mode === 'package' ? 'alice' : 'bob', burn);
  try {
    let call: (i: number) => Promise<unknown>;
    if (mode === 'package') {
      const length = Number(input);
      call = (i) => engine.package('bob', benchMessage(length, i));
    } else {
      const pkgs = splitPackages(readFileSync(input));
      if (pkgs.length < count + 1) throw new Error(`need ${count + 1} packages, file has ${pkgs.length}`);
      call = (i) => engine.unpackage(pkgs[i] as Uint8Array);
    }
    await call(0);
    const pad0 = padSyncCounter.fdatasync + padSyncCounter.fsync;
    const commits0 = ledgerCommitCounter.commits;
    mark(MARK_BEGIN);
    for (let i = 1; i <= count; i++) await call(i);
    mark(MARK_END);
    process.stdout.write(
      `${JSON.stringify({
        calls: count,
        padSyncs: padSyncCounter.fdatasync + padSyncCounter.fsync - pad0,
        ledgerCommits: ledgerCommitCounter.commits - commits0,
      })}\n`,
    );
  } finally {
    engine.close();
  }
}

await main(process.argv.slice(2));
