/**
 * Durability of the data dir's own entries, seen in the system calls (strace -f -y): a new data dir is fsynced in
 * its parent, pads/ in the data dir, and identity.json is fsynced before its rename and the dir after it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const hasStrace = spawnSync('strace', ['-V']).status === 0;

describe.skipIf(!hasStrace)('data dir durability (strace)', () => {
  it('fsyncs every new folder in its parent, and identity.json before and after its rename', () => {
    const root = mkdtempSync(join(tmpdir(), 'onepad-dur-'));
    const dir = join(root, 'var', 'onepad');
    const trace = join(root, 'trace.txt');
    const run = spawnSync(
      'strace',
      [
        '-f',
        '-y',
        '-qq',
        '-o',
        trace,
        '-e',
        'trace=fsync,fdatasync,rename,renameat,renameat2',
        process.execPath,
        '--import',
        'tsx',
        'test/engine/durability-child.ts',
        dir,
      ],
      { cwd: ROOT, encoding: 'utf8', timeout: 120_000 },
    );
    expect(run.status, run.stderr).toBe(0);
    const lines = readFileSync(trace, 'utf8').split('\n');
    const synced = (path: string) =>
      lines.findIndex((l) => /\b(fsync|fdatasync)\(\d+<([^>]*)>\)/.exec(l)?.[2] === path);
    // New folders: root/var in root, root/var/onepad in root/var, pads/ in the data dir.
    expect(synced(root)).toBeGreaterThanOrEqual(0);
    expect(synced(join(root, 'var'))).toBeGreaterThanOrEqual(0);
    const tmpSync = synced(join(dir, 'identity.json.tmp'));
    const rename = lines.findIndex((l) => /rename/.test(l) && l.includes('identity.json.tmp'));
    expect(tmpSync).toBeGreaterThanOrEqual(0);
    expect(rename).toBeGreaterThan(tmpSync);
    const dirSyncAfter = lines.findIndex((l, i) => i > rename && /\bfsync\(\d+<([^>]*)>\)/.exec(l)?.[1] === dir);
    expect(dirSyncAfter).toBeGreaterThan(rename);
  }, 180_000);
});
