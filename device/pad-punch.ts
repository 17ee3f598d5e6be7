/**
 * Discard hints for burned pad bytes (docs/LEDGER.md, "What burning does not do on flash"). Once a range of a pad
 * file has been overwritten with zeros and fdatasynced, the whole file-system blocks inside it are punched out of
 * the file: fallocate(2) with FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, through util-linux's
 * `fallocate --punch-hole --keep-size` (Node has no fallocate; util-linux is Essential on Debian). The file keeps
 * its size and reads zeros there as before; the file system frees the blocks and, when it discards them (mount
 * option `discard`, or a periodic `fstrim`), tells the card they hold nothing. It is only a hint: the card may
 * ignore it, and its wear levelling may keep old copies of the pad bytes whatever the hint says.
 *
 * Off the critical path: burned ranges are collected as they are burned and punched in the background by a child
 * process, at most once per interval, and only in whole blocks (a partial block would be zeroed by the kernel,
 * one more write of zeros that buys nothing); a range's unaligned ends wait until a neighbouring burn completes
 * their block. Only bytes already burned and synced are ever handed in, so a punch can never reach a pad byte
 * that is still to be used. A punch that fails (a file system without hole punching, a file retired meanwhile) is
 * counted and otherwise ignored.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ByteRange } from './engine-types.js';

/** How long burned ranges wait to be punched together. */
export const PUNCH_INTERVAL_MS = 5000;

/** Ranges waiting per file beyond this are dropped, oldest first (it is a hint; memory stays bounded). */
const MAX_PENDING_PER_FILE = 4096;

/** What the puncher did, for tests and the benchmark. */
export interface PunchStats {
  /** Bytes handed to fallocate (whole blocks). */
  punchedBytes: number;
  /** fallocate runs that succeeded. */
  runs: number;
  /** fallocate runs that failed (no hole punching here, file gone). */
  failures: number;
}

interface FileQueue {
  readonly blockSize: number;
  /** Burned, not yet punched ranges: sorted, disjoint, not touching. */
  ranges: ByteRange[];
}

/** Merge `r` into the sorted, disjoint list `list` (ranges that touch are joined). */
function mergeInto(list: ByteRange[], r: ByteRange): ByteRange[] {
  if (r.end <= r.start) return list;
  const out: ByteRange[] = [];
  let start = r.start;
  let end = r.end;
  let placed = false;
  for (const x of list) {
    if (x.end < start) out.push(x);
    else if (x.start > end) {
      if (!placed) {
        out.push({ start, end });
        placed = true;
      }
      out.push(x);
    } else {
      start = Math.min(start, x.start);
      end = Math.max(end, x.end);
    }
  }
  if (!placed) out.push({ start, end });
  return out;
}

/**
 * Split burned ranges into the whole blocks to punch and what stays waiting (the unaligned ends).
 * Exported for the property test.
 */
export function punchable(ranges: readonly ByteRange[], blockSize: number): { punch: ByteRange[]; keep: ByteRange[] } {
  const punch: ByteRange[] = [];
  const keep: ByteRange[] = [];
  for (const r of ranges) {
    const a = Math.ceil(r.start / blockSize) * blockSize;
    const b = Math.floor(r.end / blockSize) * blockSize;
    if (b > a) {
      punch.push({ start: a, end: b });
      if (r.start < a) keep.push({ start: r.start, end: a });
      if (b < r.end) keep.push({ start: b, end: r.end });
    } else keep.push(r);
  }
  return { punch, keep };
}

function args(path: string, r: ByteRange): string[] {
  return ['--punch-hole', '--keep-size', '--offset', String(r.start), '--length', String(r.end - r.start), path];
}

/** Collects burned ranges of pad files and punches their whole blocks out, in the background. */
export class HolePuncher {
  readonly stats: PunchStats = { punchedBytes: 0, runs: 0, failures: 0 };
  private readonly files = new Map<string, FileQueue>();
  private readonly intervalMs: number;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private running: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(intervalMs = PUNCH_INTERVAL_MS) {
    this.intervalMs = intervalMs;
  }

  /**
   * Note ranges of `path` that are burned and synced. Only such ranges may be handed in: their whole blocks are
   * punched out of the file.
   */
  add(path: string, blockSize: number, ranges: readonly ByteRange[]): void {
    if (this.closed) return;
    let q = this.files.get(path);
    if (!q) {
      q = { blockSize: blockSize > 0 ? blockSize : 4096, ranges: [] };
      this.files.set(path, q);
    }
    for (const r of ranges) q.ranges = mergeInto(q.ranges, r);
    if (q.ranges.length > MAX_PENDING_PER_FILE) q.ranges = q.ranges.slice(q.ranges.length - MAX_PENDING_PER_FILE);
    if (this.timer === null) {
      this.timer = setTimeout(() => {
        this.timer = null;
        void this.flush();
      }, this.intervalMs);
      this.timer.unref?.();
    }
  }

  /** Forget a file (retired or abandoned: it is burned whole and removed). */
  forget(path: string): void {
    this.files.delete(path);
  }

  /** Punch every whole block waiting now, in the background; resolves when those runs ended. */
  flush(): Promise<void> {
    const todo = this.take();
    this.running = this.running.then(async () => {
      for (const [path, r] of todo) await this.runOne(path, r);
    });
    return this.running;
  }

  /** Stop: punch what waits now, synchronously (one short process per range), and take no more. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    for (const [path, r] of this.take()) {
      const res = spawnSync('fallocate', args(path, r), { stdio: 'ignore' });
      this.count(res.status === 0, r);
    }
    this.files.clear();
  }

  private take(): [string, ByteRange][] {
    const todo: [string, ByteRange][] = [];
    for (const [path, q] of this.files) {
      const { punch, keep } = punchable(q.ranges, q.blockSize);
      q.ranges = keep;
      for (const r of punch) todo.push([path, r]);
      if (keep.length === 0) this.files.delete(path);
    }
    return todo;
  }

  private runOne(path: string, r: ByteRange): Promise<void> {
    return new Promise((resolve) => {
      let done = false;
      const end = (ok: boolean) => {
        if (done) return;
        done = true;
        this.count(ok, r);
        resolve();
      };
      const child = spawn('fallocate', args(path, r), { stdio: 'ignore' });
      child.on('error', () => end(false));
      child.on('close', (code) => end(code === 0));
    });
  }

  private count(ok: boolean, r: ByteRange): void {
    if (ok) {
      this.stats.runs++;
      this.stats.punchedBytes += r.end - r.start;
    } else this.stats.failures++;
  }
}
