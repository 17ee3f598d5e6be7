/**
 * Counting the sync system calls of the engine's critical path with strace: the child (bench/engine-child.ts) runs
 * under `strace -f -y -e trace=fsync,fdatasync,sync_file_range,openat`, and only the sync calls between its two
 * marker opens are counted, grouped by the file they synced.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MARK_BEGIN, MARK_END } from './engine-setup.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const CHILD = fileURLToPath(new URL('./engine-child.ts', import.meta.url));

/** True when an strace binary runs. */
export function straceAvailable(): boolean {
  const r = spawnSync('strace', ['-V'], { encoding: 'utf8' });
  return r.status === 0;
}

/** What one traced child run saw between its markers. */
export interface StraceCount {
  readonly calls: number;
  /** fsync + fdatasync + sync_file_range calls. */
  readonly syncs: number;
  /** Syncs by file kind: pad file, ledger WAL, ledger db, events, directory/other. */
  readonly byFile: Readonly<Record<string, number>>;
  /** The child's own counters over the same window. */
  readonly inProcess: { readonly padSyncs: number; readonly ledgerCommits: number };
}

function fileKind(path: string): string {
  if (path.endsWith('.pad')) return 'pad';
  if (path.endsWith('ledger.db-wal')) return 'ledger-wal';
  if (path.endsWith('ledger.db')) return 'ledger-db';
  if (path.includes('events.db')) return 'events';
  return 'other';
}

/**
 * Count the sync calls in an strace output between the marker opens.
 * @throws Error when a marker is missing (the child failed before or inside the measured window)
 */
export function countSyncsBetweenMarkers(trace: string): { syncs: number; byFile: Record<string, number> } {
  const lines = trace.split('\n');
  const begin = lines.findIndex((l) => l.includes(MARK_BEGIN));
  const end = lines.findIndex((l) => l.includes(MARK_END));
  if (begin < 0 || end < begin) throw new Error('strace output lacks the child markers');
  const byFile: Record<string, number> = {};
  let syncs = 0;
  for (const line of lines.slice(begin + 1, end)) {
    if (line.includes('resumed>')) continue;
    const m = /\b(fsync|fdatasync|sync_file_range)\(\d+<([^>]*)>/.exec(line);
    if (!m) continue;
    syncs++;
    const kind = fileKind(m[2] ?? '');
    byFile[kind] = (byFile[kind] ?? 0) + 1;
  }
  return { syncs, byFile };
}

/**
 * Run the child under strace and count its syncs per call.
 * @param input - message length (package) or path of a joined packages file (unpackage)
 * @throws Error when strace or the child fails
 */
export function straceSyncs(opts: {
  readonly mode: 'package' | 'unpackage';
  readonly dataDir: string;
  readonly burn: boolean;
  readonly count: number;
  readonly input: string;
  readonly workDir: string;
}): StraceCount {
  const out = join(opts.workDir, `strace-${opts.mode}-${opts.burn ? 'on' : 'off'}.txt`);
  const r = spawnSync(
    'strace',
    [
      '-f',
      '-qq',
      '--seccomp-bpf',
      '-y',
      '-o',
      out,
      '-e',
      'trace=fsync,fdatasync,sync_file_range,openat',
      process.execPath,
      '--import',
      'tsx',
      CHILD,
      opts.mode,
      opts.dataDir,
      opts.burn ? 'on' : 'off',
      String(opts.count),
      opts.input,
    ],
    { cwd: REPO, encoding: 'utf8', timeout: 60_000 },
  );
  if (r.status !== 0) {
    throw new Error(`strace child failed (status ${r.status}): ${(r.stderr ?? '').slice(0, 500)}`);
  }
  const inProcess = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as StraceCount['inProcess'];
  const { syncs, byFile } = countSyncsBetweenMarkers(readFileSync(out, 'utf8'));
  return { calls: opts.count, syncs, byFile, inProcess };
}
