/**
 * Pad files: `pads/<pad id hex>.pad` in the data dir, mode 0600, exactly `size` bytes. Pad bytes are read into
 * Uint8Arrays the caller zeroes after use, and burned (overwritten with zeros, then fdatasync) once used.
 *
 * Burning makes the bytes unreadable through the file system: every later read of the file returns zeros.
 * It does not make them gone from the medium. An SD card or any flash behind a translation layer writes the
 * zeros to a fresh page and leaves the old page, with the pad bytes, until its own garbage collection erases it;
 * someone who reads the raw flash chips (not the block device) may find them. The engine punches burned blocks
 * out of the file afterwards (device/pad-punch.ts), a discard hint the card may honour or ignore; wear levelling
 * can keep old copies either way. Only full-disk encryption with a key that is itself destroyed, or destroying
 * the card, closes that gap (docs/LEDGER.md).
 *
 * Because burned bytes read as zeros, {@link containsZeroBlock} lets the engine refuse to use bytes that were
 * already burned, whatever the ledger says.
 */

import { spawnSync } from 'node:child_process';
import {
  closeSync,
  fdatasyncSync,
  fstatSync,
  fsync,
  fsyncSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  statSync,
  unlinkSync,
  write,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { OnepadError } from './errors.js';

const CHUNK = 1 << 20;
const ZEROS = new Uint8Array(CHUNK);

const fsyncAsync = promisify(fsync);
function writeAt(fd: number, buf: Uint8Array, offset: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    write(fd, buf, offset, length, position, (err, n) => (err ? reject(err) : resolve(n)));
  });
}

/** Counts of syncs this process issued on pad files (for the benchmark's sync count per operation). */
export const padSyncCounter = { fdatasync: 0, fsync: 0 };

/** The path of a pad's file. */
export function padFilePath(padsDir: string, padIdHex: string): string {
  return join(padsDir, `${padIdHex}.pad`);
}

/**
 * Open a pad file for reading and burning, checking its size against the ledger.
 * @throws OnepadError PAD_FILE_INVALID when the file is missing or its size differs from `size`
 */
export function openPadFile(path: string, size: number): number {
  let fd: number;
  try {
    fd = openSync(path, 'r+');
  } catch {
    throw new OnepadError('PAD_FILE_INVALID', { reason: 'missing' }, 'pad file is missing');
  }
  const actual = fstatSync(fd).size;
  if (actual !== size) {
    closeSync(fd);
    throw new OnepadError('PAD_FILE_INVALID', { reason: 'size', expected: size, actual }, 'pad file size differs');
  }
  return fd;
}

/**
 * Read `length` pad bytes from `start`. The caller owns and must zero the result.
 * @throws OnepadError STORAGE_FAILED on a short read
 */
export function readSegment(fd: number, start: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, out, done, length - done, start + done);
    if (n <= 0) {
      out.fill(0);
      throw new OnepadError('STORAGE_FAILED', { reason: 'short read' }, 'short read of pad file');
    }
    done += n;
  }
  return out;
}

/** The size of the blocks {@link containsZeroBlock} looks at. */
export const ZERO_BLOCK = 16;

/**
 * True when `bytes` holds a run of at least {@link ZERO_BLOCK} zero bytes, anywhere (not only at aligned
 * offsets: a burned range of an earlier message can start anywhere inside a later one). Random pad bytes hold
 * such a run with probability below length · 2^-128; burned bytes of 16 or more always do. A burned run shorter
 * than 16 is not caught here (a short zero run is too likely in random bytes): a message's 32-byte key slot,
 * always checked with it, is what catches a ledger that fell behind its pad file, since message i always uses the
 * same slot i.
 */
export function containsZeroBlock(bytes: Uint8Array): boolean {
  // Any ZERO_BLOCK consecutive bytes hold exactly one byte at an offset ≡ ZERO_BLOCK - 1 (mod ZERO_BLOCK): only
  // those are read first, and the run of zeros around one that is zero is measured exactly. A shorter run ends
  // before the next such offset, so the scan goes on from there.
  const n = bytes.length;
  for (let b = ZERO_BLOCK - 1; b < n; b += ZERO_BLOCK) {
    if (bytes[b] !== 0) continue;
    let s = b;
    while (s > 0 && bytes[s - 1] === 0) s--;
    let e = b + 1;
    while (e < n && bytes[e] === 0) e++;
    if (e - s >= ZERO_BLOCK) return true;
  }
  return false;
}

/**
 * True when one of the whole {@link ZERO_BLOCK}-byte blocks at offsets 0, 16, 32, … of `bytes` is all zero (a
 * trailing part block is not looked at). Cheaper than {@link containsZeroBlock} (a word at a time), for checking
 * freshly made pad bytes in bulk: where two contributions cancel out (equal entropy on both devices), every block
 * is zero. Random bytes hold a zero block with probability below (length / 16) · 2^-128.
 */
export function containsAlignedZeroBlock(bytes: Uint8Array): boolean {
  const blocks = bytes.length >>> 4;
  if (bytes.byteOffset % 4 === 0) {
    const w = new Uint32Array(bytes.buffer, bytes.byteOffset, blocks * 4);
    for (let i = 0; i < w.length; i += 4) {
      if (((w[i] as number) | (w[i + 1] as number) | (w[i + 2] as number) | (w[i + 3] as number)) === 0) return true;
    }
    return false;
  }
  for (let b = 0; b < blocks; b++) {
    let or = 0;
    for (let i = b * ZERO_BLOCK; i < (b + 1) * ZERO_BLOCK; i++) or |= bytes[i] as number;
    if (or === 0) return true;
  }
  return false;
}

/** Overwrite [start, end) with zeros. Does not sync: call {@link syncData} once after a batch. */
export function overwriteRange(fd: number, start: number, end: number): void {
  let pos = start;
  while (pos < end) {
    const n = Math.min(CHUNK, end - pos);
    pos += writeSync(fd, ZEROS, 0, n, pos);
  }
}

/** fdatasync a pad file: after it returns, the zeros of a burn are durable (see the file comment on flash). */
export function syncData(fd: number): void {
  fdatasyncSync(fd);
  padSyncCounter.fdatasync++;
}

/**
 * Give a new, empty file `size` bytes of its own blocks, durably, before any pad byte is written into it: the
 * blocks (fallocate(1), util-linux; or zeros written over the whole size where the file system cannot
 * preallocate), then fsync of the file and of its directory. Without this, a power cut after the kernel wrote pad
 * bytes but before the journal committed their allocation leaves the bytes in blocks the recovered file system
 * calls free, where no burn can find them (docs/POWERCUT.md). With it, every pad byte lands in a block of a
 * file whose name survives the cut, and start-up recovery burns that file.
 * @throws OnepadError STORAGE_FAILED (`reason`: `no space`, `too large`, `allocate`) when the blocks cannot be had
 */
function allocateDurably(fd: number, path: string, size: number): void {
  if (size > 0) {
    // Node has no fallocate; util-linux's is on every Debian system (Essential).
    const r = spawnSync('fallocate', ['-l', String(size), path], {
      encoding: 'utf8',
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    if (r.status !== 0) {
      const why = r.stderr ?? '';
      // Only a file system that cannot preallocate gets zeros instead; any other failure is the answer.
      if (!/not supported/i.test(why)) {
        const reason = /No space left/i.test(why) ? 'no space' : /too large/i.test(why) ? 'too large' : 'allocate';
        throw new OnepadError('STORAGE_FAILED', { reason, op: 'pad allocate' }, 'the pad file could not be allocated');
      }
      overwriteRange(fd, 0, size);
    }
  }
  fsyncSync(fd);
  padSyncCounter.fsync++;
  syncDir(dirname(path));
}

/** Which byte ranges of a file were written, merged (writes come mostly in order, so it stays a few ranges). */
class Coverage {
  private readonly ranges: [number, number][] = [];
  add(start: number, end: number): void {
    const r = this.ranges;
    let i = 0;
    while (i < r.length && (r[i] as [number, number])[1] < start) i++;
    let s = start;
    let e = end;
    let j = i;
    while (j < r.length && (r[j] as [number, number])[0] <= e) {
      s = Math.min(s, (r[j] as [number, number])[0]);
      e = Math.max(e, (r[j] as [number, number])[1]);
      j++;
    }
    r.splice(i, j - i, [s, e]);
  }
  /** True when [0, size) was written in full. */
  complete(size: number): boolean {
    if (size === 0) return true;
    const first = this.ranges[0];
    return this.ranges.length === 1 && first !== undefined && first[0] === 0 && first[1] === size;
  }
}

/**
 * Writes a new pad file crash-safely and incrementally: a temporary file (0600, exclusive) whose blocks are
 * allocated and made durable first (see allocateDurably), filled at any offsets, then synced, renamed into place,
 * and the directory synced. A crash leaves either nothing, a `.tmp` file, or a complete file with no ledger row;
 * start-up recovery burns and removes the last two (see {@link listPadFiles}), and no pad byte is ever in a
 * block outside them.
 */
export class PadFileWriter {
  readonly finalPath: string;
  readonly tmpPath: string;
  private fd: number | null;
  private readonly size: number;
  private readonly padsDir: string;
  private pending = 0;
  private readonly written = new Coverage();

  private constructor(padsDir: string, padIdHex: string, size: number) {
    this.padsDir = padsDir;
    this.size = size;
    this.finalPath = padFilePath(padsDir, padIdHex);
    this.tmpPath = `${this.finalPath}.tmp`;
    const fd = openSync(this.tmpPath, 'wx', 0o600);
    try {
      allocateDurably(fd, this.tmpPath, size);
    } catch (e) {
      closeSync(fd);
      unlinkSync(this.tmpPath);
      throw e instanceof OnepadError ? e : new OnepadError('STORAGE_FAILED', { op: 'pad allocate' });
    }
    this.fd = fd;
  }

  /**
   * Start a pad file of `size` bytes for `padIdHex` in `padsDir`, its blocks allocated and durable (no pad byte
   * written yet).
   * @throws OnepadError STORAGE_FAILED when the blocks cannot be allocated (`reason`: `no space`, `too large`)
   */
  static create(padsDir: string, padIdHex: string, size: number): PadFileWriter {
    return new PadFileWriter(padsDir, padIdHex, size);
  }

  /**
   * Write `chunk` at pad offset `offset` (not synced until {@link finish}).
   * @throws RangeError when the chunk would run past the pad's size
   */
  write(chunk: Uint8Array, offset: number): void {
    if (this.fd === null) throw new Error('pad file writer is closed');
    if (offset < 0 || offset + chunk.length > this.size) throw new RangeError('chunk outside the pad');
    let w = 0;
    while (w < chunk.length) w += writeSync(this.fd, chunk, w, chunk.length - w, offset + w);
    this.written.add(offset, offset + chunk.length);
  }

  /**
   * {@link write} on the thread pool, so the caller's event loop keeps going while the kernel copies the chunk.
   * Writes at distinct offsets may run at once; {@link finishAsync} waits for them all. The caller must not
   * change `chunk` until the promise settles.
   *
   * @throws RangeError when the chunk would run past the pad's size
   * @throws OnepadError STORAGE_FAILED when the write fails
   */
  async writeAsync(chunk: Uint8Array, offset: number): Promise<void> {
    if (this.fd === null) throw new Error('pad file writer is closed');
    if (offset < 0 || offset + chunk.length > this.size) throw new RangeError('chunk outside the pad');
    const fd = this.fd;
    this.pending++;
    try {
      let w = 0;
      while (w < chunk.length) w += await writeAt(fd, chunk, w, chunk.length - w, offset + w);
      this.written.add(offset, offset + chunk.length);
    } catch {
      throw new OnepadError('STORAGE_FAILED', { op: 'pad write' }, 'pad file write failed');
    } finally {
      this.pending--;
    }
  }

  /**
   * The file is `size` bytes and every byte of it was written (the blocks were allocated up front, so the size
   * alone says nothing).
   * @throws OnepadError PAD_FILE_INVALID otherwise
   */
  private checkComplete(fd: number): void {
    if (fstatSync(fd).size !== this.size || !this.written.complete(this.size)) {
      throw new OnepadError('PAD_FILE_INVALID', { reason: 'size', expected: this.size }, 'pad file is incomplete');
    }
  }

  /** Writes started by {@link writeAsync} and not yet settled. */
  get writesInFlight(): number {
    return this.pending;
  }

  /**
   * {@link finish} with the fsync on the thread pool. Call after every {@link writeAsync} has settled.
   * @throws OnepadError PAD_FILE_INVALID when the file is not exactly `size` bytes; STORAGE_FAILED
   */
  async finishAsync(): Promise<string> {
    if (this.fd === null) throw new Error('pad file writer is closed');
    if (this.pending > 0) throw new Error('pad file writes still in flight');
    const fd = this.fd;
    this.fd = null;
    try {
      this.checkComplete(fd);
      await fsyncAsync(fd);
      padSyncCounter.fsync++;
    } catch (e) {
      closeSync(fd);
      abandonPadFile(this.tmpPath);
      throw e instanceof OnepadError ? e : new OnepadError('STORAGE_FAILED', { op: 'pad sync' });
    }
    closeSync(fd);
    renameSync(this.tmpPath, this.finalPath);
    syncDir(this.padsDir);
    return this.finalPath;
  }

  /**
   * Sync the file, check its size, rename it into place and sync the directory.
   * @throws OnepadError PAD_FILE_INVALID when the file is not exactly `size` bytes
   */
  finish(): string {
    if (this.fd === null) throw new Error('pad file writer is closed');
    const fd = this.fd;
    this.fd = null;
    try {
      this.checkComplete(fd);
      fsyncSync(fd);
      padSyncCounter.fsync++;
    } catch (e) {
      closeSync(fd);
      abandonPadFile(this.tmpPath);
      throw e;
    }
    closeSync(fd);
    renameSync(this.tmpPath, this.finalPath);
    syncDir(this.padsDir);
    return this.finalPath;
  }

  /**
   * Make the temporary file unusable and burn it: at once when small, else abandoned to the background burner
   * (see {@link abandonPadFile}). Safe to call more than once. Let every {@link writeAsync} settle first.
   */
  abort(): void {
    if (this.fd !== null) {
      closeSync(this.fd);
      this.fd = null;
    }
    abandonPadFile(this.tmpPath);
  }
}

/**
 * Write a whole pad file from a synchronous filler (see {@link PadFileWriter}).
 *
 * @param fill - called with successive chunks to fill in and the pad offset of each; must fill every byte
 */
export function writePadFile(
  padsDir: string,
  padIdHex: string,
  size: number,
  fill: (chunk: Uint8Array, offset: number) => void,
): string {
  const writer = PadFileWriter.create(padsDir, padIdHex, size);
  const buf = new Uint8Array(Math.min(CHUNK, Math.max(size, 1)));
  try {
    for (let off = 0; off < size; off += buf.length) {
      const chunk = buf.subarray(0, Math.min(buf.length, size - off));
      fill(chunk, off);
      writer.write(chunk, off);
    }
  } catch (e) {
    writer.abort();
    throw e;
  } finally {
    buf.fill(0);
  }
  return writer.finish();
}

/** fsync a directory so a rename or unlink in it is durable. */
export function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
    padSyncCounter.fsync++;
  } finally {
    closeSync(fd);
  }
}

/** Burn a whole pad file (overwrite, sync) and remove it. */
export function destroyPadFile(path: string): void {
  try {
    const fd = openSync(path, 'r+');
    try {
      overwriteRange(fd, 0, fstatSync(fd).size);
      syncData(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // already gone
  }
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

/** An abandoned file: `<its name>.<its size when abandoned>.burn` (device/pad-burner.ts burns it). */
export const BURN_NAME = /^(.+)\.(\d+)\.burn$/;

/** Files abandoned at or below this size are burned at once, in the caller's step (well under a second). */
export const INLINE_BURN_BYTES = 64 << 20;

/**
 * Make a pad file unusable at once: rename it to `<name>.<size>.burn` and sync the directory (no code opens such
 * a file as a pad). Files of at most `inlineBytes` are then burned and removed before this returns; bigger ones
 * are left to `burnAbandoned` (device/pad-burner.ts), which resumes after any stop, so the caller's work does not
 * grow with the pad.
 *
 * @returns the new path, or null when the file was already gone or was burned at once
 */
export function abandonPadFile(path: string, inlineBytes = INLINE_BURN_BYTES): string | null {
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    return null;
  }
  if (size <= inlineBytes) {
    destroyPadFile(path);
    return null;
  }
  const dir = dirname(path);
  const target = join(dir, `${basename(path)}.${size}.burn`);
  renameSync(path, target);
  syncDir(dir);
  return target;
}

/** Pad ids (hex) of the complete pad files, and the names of leftover temporary files, in a pads dir. */
export function listPadFiles(padsDir: string): { ids: string[]; temporary: string[] } {
  const ids: string[] = [];
  const temporary: string[] = [];
  for (const name of readdirSync(padsDir)) {
    if (/^[0-9a-f]{32}\.pad$/.test(name)) ids.push(name.slice(0, 32));
    else if (name.endsWith('.tmp')) temporary.push(name);
    // `.burn` files are neither: they are being burned (device/pad-burner.ts).
  }
  return { ids, temporary };
}
