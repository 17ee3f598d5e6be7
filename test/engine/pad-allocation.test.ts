/**
 * A new pad file's blocks are allocated and durable before its first pad byte is written (docs/POWERCUT.md, the
 * `direct` finding): seen in the system calls (strace -f -y), and a writer that skipped a range is refused.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, statfsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PadFileWriter, padFilePath } from '../../device/pad-file.js';
import { hasStrace, straceChild } from '../helpers/strace.js';

describe('pad file allocation', () => {
  it.skipIf(!hasStrace)(
    'fallocates the .tmp, fsyncs it and pads/, and only then writes pad bytes',
    () => {
      const root = mkdtempSync(join(tmpdir(), 'onepad-alloc-'));
      const pads = join(root, 'pads');
      mkdirSync(pads);
      const run = straceChild(
        'test/engine/pad-alloc-child.ts',
        [pads],
        'fallocate,fsync,fdatasync,pwrite64,rename,renameat,renameat2',
      );
      expect(run.status, run.stderr).toBe(0);
      const tmp = `${padFilePath(pads, 'ab'.repeat(16))}.tmp`;
      const lines = run.lines;
      const on = (call: string, path: string) => (l: string) =>
        new RegExp(`\\b${call}\\(\\d+<([^>]*)>`).exec(l)?.[1] === path;
      const alloc = lines.findIndex(on('fallocate', tmp));
      const fileSync = lines.findIndex((l, i) => i > alloc && on('fsync', tmp)(l));
      const dirSync = lines.findIndex((l, i) => i > fileSync && on('fsync', pads)(l));
      const firstWrite = lines.findIndex(on('pwrite64', tmp));
      expect(alloc, 'fallocate of the .tmp').toBeGreaterThanOrEqual(0);
      expect(fileSync, 'fsync of the .tmp after fallocate').toBeGreaterThan(alloc);
      expect(dirSync, 'fsync of pads/ after that').toBeGreaterThan(fileSync);
      expect(firstWrite, 'the first pad byte after both').toBeGreaterThan(dirSync);
      expect(existsSync(padFilePath(pads, 'ab'.repeat(16)))).toBe(true);
    },
    180_000,
  );

  it('refuses to finish a file with a range never written, though its size is already right', () => {
    const pads = mkdtempSync(join(tmpdir(), 'onepad-alloc-'));
    const w = PadFileWriter.create(pads, 'cd'.repeat(16), 4096);
    expect(statSync(w.tmpPath).size).toBe(4096);
    w.write(new Uint8Array(2048).fill(1), 0);
    w.write(new Uint8Array(1024).fill(1), 3072);
    expect(() => w.finish()).toThrow(expect.objectContaining({ code: 'PAD_FILE_INVALID' }));
    expect(existsSync(padFilePath(pads, 'cd'.repeat(16)))).toBe(false);
    const full = PadFileWriter.create(pads, 'ef'.repeat(16), 4096);
    full.write(new Uint8Array(3000).fill(2), 1096);
    full.write(new Uint8Array(2000).fill(3), 0);
    expect(full.finish()).toBe(padFilePath(pads, 'ef'.repeat(16)));
  });

  it('a pad larger than the free space (or the file system) fails at once with STORAGE_FAILED, leaving no file', () => {
    const pads = mkdtempSync(join(tmpdir(), 'onepad-alloc-'));
    const free = statfsSync(pads);
    const tooBig = Math.min(free.bavail * free.bsize + 2 ** 40, 2 ** 50);
    for (const [size, reason] of [
      [tooBig, 'no space'],
      [2 ** 52, 'too large'],
    ] as const) {
      const started = Date.now();
      expect(() => PadFileWriter.create(pads, '01'.repeat(16), size)).toThrow(
        expect.objectContaining({ code: 'STORAGE_FAILED', details: expect.objectContaining({ reason }) }),
      );
      expect(Date.now() - started, 'no zeros written instead').toBeLessThan(20_000);
      expect(readdirSync(pads)).toEqual([]);
    }
  });
});
