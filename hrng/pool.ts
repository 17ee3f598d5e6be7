/**
 * The entropy pool: a ring file in the data dir (`pool.bin`, mode 0600) whose counters live in the ledger
 * (table `pool`, migrations 2 and 3). Pairing draws pad bytes from it with {@link EntropyPool.take}.
 *
 * Counters are absolute byte positions that only grow: `filled` (bytes ever appended and counted), `consumed`
 * (bytes ever handed out), `burned` (consumed bytes already overwritten on disk), `insecure_until` (end of the
 * last range appended from an insecure source). Position p lives at offset p mod `capacity` in the file, so the
 * live bytes are [consumed, filled) and never more than `capacity` of them.
 *
 * Crash safety, by write order:
 * - append: write the chunk at filled mod capacity, fdatasync, then commit `filled += n`. The counter is the
 *   truth: bytes written but not counted when the process dies lie in free ring space and the next append
 *   overwrites them; they are never handed out.
 * - take: read the bytes, commit `consumed += n` (the ledger syncs each commit), then overwrite them with zeros,
 *   fdatasync, commit `burned`. Only then are the bytes returned. A crash after the first commit loses those
 *   bytes (never repeats them); open() finishes the burn of [burned, consumed).
 *
 * Insecure tracking is by range: a byte below `insecure_until` counts as insecure, so the pool reports insecure
 * while any byte from before the end of the last simulated append is still in it, and secure again once those
 * are consumed.
 */
import {
  closeSync,
  fchmodSync,
  fdatasync,
  fdatasyncSync,
  fstatSync,
  ftruncateSync,
  lstatSync,
  openSync,
  readSync,
  write,
  writeSync,
} from 'node:fs';
import { promisify } from 'node:util';
import { OnepadError } from '../device/errors.js';
import type { EventLog } from '../device/events.js';
import type { Db } from '../device/ledger/open.js';

/** The pool counters as stored. */
export interface PoolCounters {
  readonly capacity: number;
  readonly filled: number;
  readonly consumed: number;
  readonly burned: number;
  readonly insecureUntil: number;
}

/** What {@link EntropyPool.take} returns. */
export interface PoolDraw {
  readonly bytes: Uint8Array;
  /** True when any of these bytes came from an insecure (simulated) source. */
  readonly insecure: boolean;
}

/** Settings for opening the pool. */
export interface PoolOptions {
  /** The ledger database (migrated to at least version 2). */
  readonly db: Db;
  /** The ring file, `dataDirLayout(root).pool`. */
  readonly path: string;
  /** Configured maximum number of bytes held. Takes effect at once when the pool is empty, else once emptied. */
  readonly maxBytes: number;
  /** Where recovery is recorded. */
  readonly events?: EventLog;
}

interface Row {
  capacity: number;
  filled: number;
  consumed: number;
  burned: number;
  insecure_until: number;
}

const ZEROS = new Uint8Array(64 * 1024);
const ZEROS_BIG = new Uint8Array(4 * 1024 * 1024);
const fdatasyncAsync = promisify(fdatasync);
function writeAsync(fd: number, buf: Uint8Array, offset: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    write(fd, buf, offset, length, position, (err, written) => (err ? reject(err) : resolve(written)));
  });
}

/** The entropy pool; see the module comment. Not safe for two processes at once (the filler is the writer). */
export class EntropyPool {
  private readonly db: Db;
  private readonly fd: number;
  /** The ring file's path. */
  readonly path: string;
  private c: PoolCounters;
  private closed = false;
  private appending = false;
  private burning = false;

  private constructor(db: Db, fd: number, c: PoolCounters, path: string) {
    this.db = db;
    this.path = path;
    this.fd = fd;
    this.c = c;
  }

  /**
   * Open the pool, creating the file if needed, finishing any burn interrupted by a crash.
   *
   * @throws RangeError when maxBytes is not a positive safe integer
   * @throws OnepadError POOL_FILE_INVALID when the file is a symlink or not a regular file, or is shorter than
   *   the ring while the ledger says it holds bytes
   * @throws OnepadError STORAGE_FAILED when the file cannot be opened, sized or synced
   */
  static open(opts: PoolOptions): EntropyPool {
    if (!Number.isSafeInteger(opts.maxBytes) || opts.maxBytes < 1) {
      throw new RangeError('maxBytes must be a positive integer');
    }
    const row = opts.db
      .prepare('SELECT capacity, filled, consumed, burned, insecure_until FROM pool WHERE id = 1')
      .get() as Row | undefined;
    if (!row) throw new OnepadError('POOL_FILE_INVALID', { reason: 'no pool row' }, 'ledger has no pool counters');
    let fd: number;
    try {
      const st = lstatSync(opts.path, { throwIfNoEntry: false });
      if (st && (st.isSymbolicLink() || !st.isFile())) {
        throw new OnepadError('POOL_FILE_INVALID', { reason: 'not a regular file' });
      }
      if (!st && row.filled > row.consumed) {
        throw new OnepadError('POOL_FILE_INVALID', { reason: 'missing', held: row.filled - row.consumed });
      }
      fd = openSync(opts.path, 'a+', 0o600);
      closeSync(fd);
      fd = openSync(opts.path, 'r+');
      fchmodSync(fd, 0o600);
    } catch (e) {
      if (e instanceof OnepadError) throw e;
      throw new OnepadError('STORAGE_FAILED', { op: 'pool open' });
    }
    const pool = new EntropyPool(
      opts.db,
      fd,
      {
        capacity: row.capacity,
        filled: row.filled,
        consumed: row.consumed,
        burned: row.burned,
        insecureUntil: row.insecure_until,
      },
      opts.path,
    );
    try {
      pool.recover(opts);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
    return pool;
  }

  private recover(opts: PoolOptions): void {
    const size = fstatSync(this.fd).size;
    const held = this.c.filled - this.c.consumed;
    if (held > 0 && size < this.c.capacity) {
      throw new OnepadError('POOL_FILE_INVALID', { reason: 'short', size, capacity: this.c.capacity, held });
    }
    const pending = this.c.consumed - this.c.burned;
    if (pending > 0) {
      this.zero(this.c.burned, pending);
      this.sync();
      this.commit({ burned: this.c.consumed });
      opts.events?.record('POOL_RECOVERED', null, { burned: pending });
    }
    if (held === 0 && this.c.capacity !== opts.maxBytes) {
      // Empty: adopt the configured size. Nothing live is in the file; a smaller ring truncates the rest.
      this.commit({ capacity: opts.maxBytes });
    }
    if (size !== this.c.capacity && (held === 0 || size < this.c.capacity)) {
      try {
        ftruncateSync(this.fd, this.c.capacity);
      } catch {
        throw new OnepadError('STORAGE_FAILED', { op: 'pool size' });
      }
      this.sync();
    }
  }

  /** The counters (a snapshot). */
  counters(): PoolCounters {
    return { ...this.c };
  }

  /** Ring size in bytes. */
  get capacity(): number {
    return this.c.capacity;
  }

  /** Bytes held, ready to take. */
  available(): number {
    return this.c.filled - this.c.consumed;
  }

  /** Room left before the pool is full (consumed bytes not yet burned still take their room). */
  free(): number {
    return this.c.capacity - (this.c.filled - this.c.burned);
  }

  /** True when some held byte came from an insecure source (see the module comment). */
  get insecure(): boolean {
    return this.available() > 0 && this.c.consumed < this.c.insecureUntil;
  }

  /**
   * Append bytes and count them: write, fdatasync, then commit the counter. Appends at most {@link free} bytes.
   *
   * @param bytes - healthy, combined bytes (the pool keeps no reference)
   * @param insecure - they came (in part) from an insecure source
   * @returns how many bytes were appended
   * @throws OnepadError STORAGE_FAILED when the write, sync or commit fails (nothing was counted)
   */
  append(bytes: Uint8Array, insecure: boolean): number {
    this.assertOpen();
    const n = Math.min(bytes.length, this.free());
    if (n === 0) return 0;
    this.writeRing(this.c.filled, bytes.subarray(0, n));
    this.sync();
    const filled = this.c.filled + n;
    this.commit({ filled, insecureUntil: insecure ? filled : this.c.insecureUntil });
    return n;
  }

  /**
   * {@link append} with the write and fdatasync on the thread pool, so the caller's event loop keeps gating and
   * combining while the disk syncs. Same order: write, fdatasync, then commit. One at a time.
   *
   * @throws OnepadError STORAGE_FAILED when the write, sync or commit fails, or another async append is running
   */
  async appendAsync(bytes: Uint8Array, insecure: boolean): Promise<number> {
    this.assertOpen();
    if (this.appending) throw new OnepadError('STORAGE_FAILED', { op: 'pool append overlap' });
    const n = Math.min(bytes.length, this.free());
    if (n === 0) return 0;
    this.appending = true;
    try {
      let done = 0;
      for (const [off, len] of this.pieces(this.c.filled, n)) {
        let w = 0;
        while (w < len) w += await writeAsync(this.fd, bytes, done + w, len - w, off + w);
        done += len;
      }
      await fdatasyncAsync(this.fd);
    } catch {
      throw new OnepadError('STORAGE_FAILED', { op: 'pool write' });
    } finally {
      this.appending = false;
    }
    this.assertOpen();
    const filled = this.c.filled + n;
    this.commit({ filled, insecureUntil: insecure ? filled : this.c.insecureUntil });
    return n;
  }

  /**
   * Take `n` bytes for use: the consumed counter is committed before the bytes are returned, and the bytes are
   * overwritten on disk and synced, so no byte is ever handed out twice.
   *
   * @throws RangeError when n is not a non-negative safe integer
   * @throws OnepadError POOL_INSUFFICIENT when fewer than n bytes are held (nothing is taken)
   * @throws OnepadError STORAGE_FAILED when a read, write, sync or commit fails
   */
  take(n: number): PoolDraw {
    this.assertOpen();
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError('n must be a non-negative integer');
    const available = this.available();
    if (n > available) throw new OnepadError('POOL_INSUFFICIENT', { requested: n, available });
    const start = this.c.consumed;
    const bytes = this.readRing(start, n);
    const insecure = n > 0 && start < this.c.insecureUntil;
    try {
      this.commit({ consumed: start + n });
    } catch (e) {
      bytes.fill(0);
      throw e;
    }
    // Burn from `burned`, not `start`: bytes drawn by takeUnburned and not yet burned go with these.
    const from = this.c.burned;
    this.zero(from, start + n - from);
    this.sync();
    this.commit({ burned: start + n });
    return { bytes, insecure };
  }

  /**
   * {@link take} without the overwrite: the consumed counter is committed before the bytes are returned (so they
   * are never handed out twice), and the bytes stay in the file until {@link burnConsumedAsync}, the next
   * {@link take}, or the next {@link open} overwrites them. For pairing, which draws a window of chunks at once
   * and burns behind the transfer; the caller bounds how far the burn lags (open's recovery burns the lag).
   *
   * @param into - read the bytes into this buffer (its first n bytes) instead of a new one
   * @throws RangeError when n is not a non-negative safe integer, or into is shorter than n
   * @throws OnepadError POOL_INSUFFICIENT when fewer than n bytes are held (nothing is taken)
   * @throws OnepadError STORAGE_FAILED when the read or commit fails
   */
  takeUnburned(n: number, into?: Uint8Array): PoolDraw {
    this.assertOpen();
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError('n must be a non-negative integer');
    if (into && into.length < n) throw new RangeError('into is shorter than n');
    const available = this.available();
    if (n > available) throw new OnepadError('POOL_INSUFFICIENT', { requested: n, available });
    const start = this.c.consumed;
    const bytes = this.readRing(start, n, into?.subarray(0, n));
    const insecure = n > 0 && start < this.c.insecureUntil;
    try {
      this.commit({ consumed: start + n });
    } catch (e) {
      bytes.fill(0);
      throw e;
    }
    return { bytes, insecure };
  }

  /** Consumed bytes not yet overwritten (drawn by {@link takeUnburned}). */
  unburned(): number {
    return this.c.consumed - this.c.burned;
  }

  /**
   * Overwrite every consumed byte not yet burned with zeros, on the thread pool, fdatasync, then commit `burned`.
   * One at a time with itself; a {@link take} meanwhile is harmless (it burns the same bytes again).
   *
   * @returns the number of bytes burned
   * @throws OnepadError STORAGE_FAILED when a write, sync or commit fails, or another burn is running
   */
  async burnConsumedAsync(): Promise<number> {
    this.assertOpen();
    if (this.burning) throw new OnepadError('STORAGE_FAILED', { op: 'pool burn overlap' });
    const from = this.c.burned;
    const to = this.c.consumed;
    if (to === from) return 0;
    this.burning = true;
    try {
      for (let p = from; p < to; ) {
        const k = Math.min(to - p, ZEROS_BIG.length, this.c.capacity);
        for (const [off, len] of this.pieces(p, k)) {
          let w = 0;
          while (w < len) w += await writeAsync(this.fd, ZEROS_BIG, w, len - w, off + w);
        }
        p += k;
      }
      await fdatasyncAsync(this.fd);
    } catch {
      throw new OnepadError('STORAGE_FAILED', { op: 'pool burn' });
    } finally {
      this.burning = false;
    }
    this.assertOpen();
    if (this.c.burned < to) this.commit({ burned: to });
    return to - from;
  }

  /**
   * The filler's latched failure (a short code such as "HRNG_HEALTH_FAILED:truerng"), kept in the ledger so a
   * restart does not clear it; null when filling may run.
   */
  latch(): string | null {
    const row = this.db.prepare('SELECT latch FROM pool WHERE id = 1').get() as { latch: string | null } | undefined;
    return row?.latch ?? null;
  }

  /**
   * Set or clear the latch.
   * @throws OnepadError STORAGE_FAILED when the commit fails
   */
  setLatch(latch: string | null): void {
    try {
      this.db.prepare('UPDATE pool SET latch = ? WHERE id = 1').run(latch === null ? null : latch.slice(0, 200));
    } catch {
      throw new OnepadError('STORAGE_FAILED', { op: 'pool latch' });
    }
  }

  /** Close the file (the Db belongs to the caller). Let any {@link appendAsync} settle first (the filler does). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }

  private assertOpen(): void {
    if (this.closed) throw new OnepadError('STORAGE_FAILED', { op: 'pool closed' });
  }

  private commit(patch: Partial<PoolCounters>): void {
    const next = { ...this.c, ...patch };
    try {
      this.db
        .prepare('UPDATE pool SET capacity = ?, filled = ?, consumed = ?, burned = ?, insecure_until = ? WHERE id = 1')
        .run(next.capacity, next.filled, next.consumed, next.burned, next.insecureUntil);
    } catch {
      throw new OnepadError('STORAGE_FAILED', { op: 'pool commit' });
    }
    this.c = next;
  }

  private sync(): void {
    try {
      fdatasyncSync(this.fd);
    } catch {
      throw new OnepadError('STORAGE_FAILED', { op: 'pool sync' });
    }
  }

  /** The (offset, length) pieces of [pos, pos+n) in the ring. */
  private pieces(pos: number, n: number): [number, number][] {
    const cap = this.c.capacity;
    const off = pos % cap;
    const first = Math.min(n, cap - off);
    return first === n
      ? [[off, n]]
      : [
          [off, first],
          [0, n - first],
        ];
  }

  private writeRing(pos: number, bytes: Uint8Array): void {
    let done = 0;
    try {
      for (const [off, len] of this.pieces(pos, bytes.length)) {
        let w = 0;
        while (w < len) w += writeSync(this.fd, bytes, done + w, len - w, off + w);
        done += len;
      }
    } catch {
      throw new OnepadError('STORAGE_FAILED', { op: 'pool write' });
    }
  }

  private readRing(pos: number, n: number, into?: Uint8Array): Uint8Array {
    const out = into ?? new Uint8Array(n);
    let done = 0;
    try {
      for (const [off, len] of this.pieces(pos, n)) {
        let r = 0;
        while (r < len) {
          const k = readSync(this.fd, out, done + r, len - r, off + r);
          if (k === 0) throw new Error('short read');
          r += k;
        }
        done += len;
      }
    } catch {
      out.fill(0);
      throw new OnepadError('STORAGE_FAILED', { op: 'pool read' });
    }
    return out;
  }

  private zero(pos: number, n: number): void {
    let left = n;
    let p = pos;
    while (left > 0) {
      const k = Math.min(left, ZEROS.length);
      this.writeRing(p, ZEROS.subarray(0, k));
      p += k;
      left -= k;
    }
  }
}
