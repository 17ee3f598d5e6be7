/**
 * Burning abandoned pad files in the background, resumably.
 *
 * A pad file nobody may use any more (an orphan without a ledger row, a partial `.tmp` of a pairing or a
 * create-pair that stopped, a pad whose pairing was not confirmed) is first **abandoned**: renamed, in one
 * durable step, to `<its name>.<its size>.burn`. No code opens a `.burn` file as a pad, so from that moment it is
 * not usable, whatever happens next. Then it is **burned** from its end: overwrite the last step with zeros,
 * fdatasync, truncate the file by that step; at size 0 it is removed. The file's own length is the persisted
 * progress, so a burn stopped by SIGTERM, Cancel, SIGKILL or a power cut resumes where it was (a step cut short
 * is overwritten again: zeros over zeros), and the start-up work is only the rename, whatever the pad's size.
 * Every byte leaves the file system's view of the file only after it was overwritten and synced.
 */
import {
  closeSync,
  fdatasync,
  fstatSync,
  ftruncate,
  openSync,
  readdirSync,
  statSync,
  unlinkSync,
  write,
} from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { OnepadError } from './errors.js';
import { BURN_NAME, syncDir } from './pad-file.js';

const fdatasyncAsync = promisify(fdatasync);
const ftruncateAsync = promisify(ftruncate);
/** Bytes per step: one fdatasync and one truncate each (a stop loses at most one step of progress). */
const STEP = 64 << 20;
const ZEROS = new Uint8Array(8 << 20);

/** One file being burned. */
export interface BurningFile {
  readonly path: string;
  /** Its size when it was abandoned. */
  readonly total: number;
  /** Bytes still to burn (its current size). */
  readonly left: number;
}

/** Progress of {@link burnAbandoned}, for the screen and the CLI. */
export interface BurnProgress {
  /** Bytes burned, of every abandoned file, since they were abandoned (across restarts). */
  readonly bytes: number;
  readonly total: number;
  /** Measured in this run. */
  readonly bytesPerSecond: number;
  /** At that rate; Infinity before the first step. */
  readonly secondsLeft: number;
  readonly files: number;
}

function writeAt(fd: number, buf: Uint8Array, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    write(fd, buf, 0, length, position, (err, n) => (err ? reject(err) : resolve(n)));
  });
}

/** The abandoned files of a pads dir, with what is left of each. */
export function listBurning(padsDir: string): BurningFile[] {
  const out: BurningFile[] = [];
  for (const name of readdirSync(padsDir)) {
    const m = BURN_NAME.exec(name);
    if (!m) continue;
    const path = join(padsDir, name);
    try {
      const left = statSync(path).size;
      out.push({ path, total: Math.max(Number(m[2]), left), left });
    } catch {
      // removed meanwhile
    }
  }
  return out.sort((a, b) => a.path.localeCompare(b.path));
}

export interface BurnOptions {
  /** Stops after the step in progress (resumable). */
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: BurnProgress) => void;
  /** Bytes per step (overwrite + fdatasync + truncate). */
  readonly stepBytes?: number;
  readonly now?: () => number;
}

/**
 * Burn every abandoned file of `padsDir`, from its end, one step at a time, on the thread pool. Within one
 * process, burns of the same dir run one after the other.
 *
 * @returns whether every file was burned and removed (false when stopped by the signal)
 * @throws OnepadError STORAGE_FAILED when a write, sync or truncate fails (what was done stays done)
 */
export function burnAbandoned(padsDir: string, opts: BurnOptions = {}): Promise<{ complete: boolean }> {
  // One burner per pads dir in this process: a second one waits for the first, then burns what is left.
  const before = running.get(padsDir) ?? Promise.resolve();
  const mine = before.then(
    () => burnAll(padsDir, opts),
    () => burnAll(padsDir, opts),
  );
  const tail = mine.then(
    () => {},
    () => {},
  );
  running.set(padsDir, tail);
  void tail.then(() => {
    if (running.get(padsDir) === tail) running.delete(padsDir);
  });
  return mine;
}

const running = new Map<string, Promise<void>>();

async function burnAll(padsDir: string, opts: BurnOptions): Promise<{ complete: boolean }> {
  const now = opts.now ?? Date.now;
  const step = Math.max(4096, Math.min(opts.stepBytes ?? STEP, STEP));
  const files = listBurning(padsDir);
  const total = files.reduce((s, f) => s + f.total, 0);
  let burned = files.reduce((s, f) => s + (f.total - f.left), 0);
  const started = now();
  let thisRun = 0;
  const report = () => {
    const rate = thisRun / Math.max(0.001, (now() - started) / 1000);
    opts.onProgress?.({
      bytes: burned,
      total,
      bytesPerSecond: rate,
      secondsLeft: rate > 0 ? (total - burned) / rate : Number.POSITIVE_INFINITY,
      files: files.length,
    });
  };
  report();
  for (const f of files) {
    let fd: number;
    try {
      fd = openSync(f.path, 'r+');
    } catch {
      continue; // gone
    }
    try {
      let size = fstatSync(fd).size;
      while (size > 0) {
        if (opts.signal?.aborted) return { complete: false };
        const k = Math.min(step, size);
        const from = size - k;
        let w = 0;
        while (w < k) w += await writeAt(fd, ZEROS, Math.min(ZEROS.length, k - w), from + w);
        await fdatasyncAsync(fd);
        await ftruncateAsync(fd, from);
        size = from;
        burned += k;
        thisRun += k;
        report();
      }
    } catch {
      throw new OnepadError('STORAGE_FAILED', { op: 'burn' }, 'burning an abandoned pad file failed');
    } finally {
      closeSync(fd);
    }
    try {
      unlinkSync(f.path);
    } catch {
      // already gone
    }
    syncDir(padsDir);
  }
  return { complete: true };
}
