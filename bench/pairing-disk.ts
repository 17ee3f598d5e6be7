/**
 * The disk baseline of the pairing benchmark: write `bytes` in 1 MiB chunks to a new file, synced once at the end
 * (fsync), or with an fdatasync after every chunk as the pool does when it burns what pairing draws.
 */
import { closeSync, fdatasyncSync, fsyncSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

const CHUNK = 1 << 20;

/**
 * Time a synced write of `bytes` to a scratch file in `dir` (removed afterwards).
 * @returns seconds from the first write to the end of the last sync
 * @throws Error from the file system (no space, no permission)
 */
export function timeSyncedWrite(dir: string, bytes: number, syncEveryChunk: boolean): number {
  const path = join(dir, `raw-write-${syncEveryChunk ? 'each' : 'end'}.bin`);
  const buf = new Uint8Array(CHUNK);
  for (let i = 0; i < buf.length; i++) buf[i] = (i * 167 + 13) & 0xff;
  const fd = openSync(path, 'wx', 0o600);
  try {
    const t0 = performance.now();
    for (let off = 0; off < bytes; off += CHUNK) {
      const n = Math.min(CHUNK, bytes - off);
      let w = 0;
      while (w < n) w += writeSync(fd, buf, w, n - w, off + w);
      if (syncEveryChunk) fdatasyncSync(fd);
    }
    fsyncSync(fd);
    return (performance.now() - t0) / 1000;
  } finally {
    closeSync(fd);
    rmSync(path, { force: true });
  }
}
