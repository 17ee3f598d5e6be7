/**
 * Durability of the data dir's own entries, seen in the system calls (strace -f -y): a new data dir is fsynced in
 * its parent, pads/ in the data dir, and identity.json is fsynced before its rename and the dir after it.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hasStrace, straceChild } from '../helpers/strace.js';

describe.skipIf(!hasStrace)('data dir durability (strace)', () => {
  it('fsyncs every new folder in its parent, and identity.json before and after its rename', () => {
    const root = mkdtempSync(join(tmpdir(), 'onepad-dur-'));
    const dir = join(root, 'var', 'onepad');
    const run = straceChild('test/engine/durability-child.ts', [dir], 'fsync,fdatasync,rename,renameat,renameat2');
    expect(run.status, run.stderr).toBe(0);
    const lines = run.lines;
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
