/**
 * A developer tool: make a matched pair of pads in two data dirs from a given byte source, as pairing would, but
 * without two devices. Always marked insecure: neither source is a health-tested hardware RNG.
 *
 * Both copies are written side by side: each chunk is made (or read from the source file) once and written to
 * both pad files from the same buffer. Both ledgers are checked before the first byte is written, and a pad is
 * registered only once both files are complete and synced. Stopped part way (the signal: SIGTERM, SIGINT,
 * Cancel), both partial files are abandoned (device/pad-file.ts `abandonPadFile`): never usable, burned.
 */
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { prepareDataDir } from './data-dir.js';
import { OnepadError } from './errors.js';
import { EventLog } from './events.js';
import { Ledger } from './ledger/ledger.js';
import { abandonPadFile, PadFileWriter } from './pad-file.js';
import { MIN_PAD_SIZE, newPadId, registerPadFile } from './pads.js';
import { fillSeeded, seededKey } from './seeded.js';
import { assertRoomFor } from './storage.js';
import type { Side } from './wire.js';

/** Where the pad bytes come from. */
export type PadSource =
  | { readonly kind: 'seeded'; readonly seed: string }
  | { readonly kind: 'file'; readonly path: string };

export interface PadPairOptions {
  /** Data dir of side A (the initiator). Its ledger gets a pad for contact `nameB`. */
  readonly dirA: string;
  /** Data dir of side B. Its ledger gets a pad for contact `nameA`. */
  readonly dirB: string;
  readonly nameA: string;
  readonly nameB: string;
  readonly size: number;
  readonly source: PadSource;
  /** Pad id (32 hex); random when absent. */
  readonly padId?: string;
  /** The message length both sides' key areas are sized for (default: the config's typicalMessageLength). */
  readonly typicalLength?: number;
}

/** Progress of {@link createPadPairAsync}: bytes of the pad done (each written to both files). */
export interface PadPairProgress {
  readonly bytes: number;
  readonly total: number;
  readonly bytesPerSecond: number;
  readonly secondsLeft: number;
}

export interface PadPairAsyncOptions extends PadPairOptions {
  /** Stops after the chunk in progress: both partial files are abandoned, CANCELLED is thrown. */
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: PadPairProgress) => void;
  readonly now?: () => number;
}

const CHUNK = 4 << 20;

interface Filler {
  fill(chunk: Uint8Array, offset: number): void;
  close(): void;
}

function fileFiller(path: string, size: number): Filler {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    throw new OnepadError('INVALID_ARGUMENT', { argument: 'source' }, 'source file cannot be read');
  }
  if (fstatSync(fd).isFile() && fstatSync(fd).size < size) {
    closeSync(fd);
    throw new OnepadError(
      'INVALID_ARGUMENT',
      { argument: 'source', needed: size },
      'source file is smaller than the pad',
    );
  }
  return {
    fill(chunk) {
      let done = 0;
      while (done < chunk.length) {
        const n = readSync(fd, chunk, done, chunk.length - done, null);
        if (n <= 0) throw new OnepadError('INVALID_ARGUMENT', { argument: 'source' }, 'source ended early');
        done += n;
      }
    },
    close: () => closeSync(fd),
  };
}

function sourceFiller(source: PadSource, size: number): Filler {
  if (source.kind === 'file') return fileFiller(source.path, size);
  const key = seededKey(source.seed);
  return { fill: (c, off) => fillSeeded(key, c, off), close: () => key.fill(0) };
}

interface OpenSide {
  readonly dir: string;
  readonly side: Side;
  readonly contact: string;
  readonly ledger: Ledger;
  readonly events: EventLog;
  readonly padsDir: string;
}

/** Open both data dirs and check both ledgers before anything is written. */
function openSides(opts: PadPairOptions, padId: string): OpenSide[] {
  if (!/^[0-9a-f]{32}$/.test(padId))
    throw new OnepadError('INVALID_ARGUMENT', { argument: 'padId' }, 'pad id must be 32 hex digits');
  if (!Number.isSafeInteger(opts.size) || opts.size < MIN_PAD_SIZE) {
    throw new OnepadError(
      'INVALID_ARGUMENT',
      { argument: 'size', min: MIN_PAD_SIZE },
      `pad size must be at least ${MIN_PAD_SIZE}`,
    );
  }
  const wanted = [
    { dir: opts.dirA, side: 'A' as const, contact: opts.nameB },
    { dir: opts.dirB, side: 'B' as const, contact: opts.nameA },
  ];
  const sides: OpenSide[] = [];
  try {
    for (const w of wanted) {
      const layout = prepareDataDir(w.dir);
      const ledger = Ledger.open(layout.ledger);
      const events = new EventLog(layout.events);
      sides.push({ ...w, ledger, events, padsDir: layout.pads });
      if (ledger.activePad(w.contact)) throw new OnepadError('CONTACT_EXISTS', { contact: w.contact });
    }
    // Room for both copies before a byte is written (two data dirs on one file system need it twice).
    const sameFs = statSync(sides[0]?.padsDir as string).dev === statSync(sides[1]?.padsDir as string).dev;
    if (sameFs) assertRoomFor(sides[0]?.padsDir as string, 2 * opts.size);
    else for (const s of sides) assertRoomFor(s.padsDir, opts.size);
  } catch (e) {
    closeSides(sides);
    throw e;
  }
  return sides;
}

function closeSides(sides: readonly OpenSide[]): void {
  for (const s of sides) {
    s.ledger.close();
    s.events.close();
  }
}

/** Register both finished files; if the second fails, the first pad is retired and both files abandoned. */
function registerBoth(
  sides: readonly OpenSide[],
  paths: readonly string[],
  padId: string,
  size: number,
  typicalLength: number | undefined,
): void {
  const done: OpenSide[] = [];
  try {
    for (const [i, s] of sides.entries()) {
      registerPadFile(
        s.ledger,
        s.events,
        {
          padId,
          contact: s.contact,
          side: s.side,
          size,
          insecure: true,
          ...(typicalLength !== undefined ? { typicalLength } : {}),
        },
        paths[i] as string,
      );
      done.push(s);
    }
  } catch (e) {
    for (const s of done) s.ledger.retirePad(padId);
    for (const p of paths) abandonPadFile(p);
    throw e;
  }
}

/**
 * Create the same pad in both data dirs (side A in `dirA`, side B in `dirB`), both files written side by side.
 * @returns the pad id
 * @throws OnepadError INVALID_ARGUMENT, CONTACT_EXISTS, DATA_DIR_UNSAFE, STORAGE_FAILED, STORAGE_FULL (no room for both copies)
 */
export function createPadPair(opts: PadPairOptions): { padId: string } {
  const padId = opts.padId ?? newPadId();
  const sides = openSides(opts, padId);
  try {
    const source = sourceFiller(opts.source, opts.size);
    const writers = sides.map((s) => PadFileWriter.create(s.padsDir, padId, opts.size));
    const buf = new Uint8Array(Math.min(CHUNK, opts.size));
    const paths: string[] = [];
    try {
      for (let off = 0; off < opts.size; off += buf.length) {
        const chunk = buf.subarray(0, Math.min(buf.length, opts.size - off));
        source.fill(chunk, off);
        for (const w of writers) w.write(chunk, off);
      }
      for (const w of writers) paths.push(w.finish());
    } catch (e) {
      for (const w of writers) w.abort();
      for (const p of paths) abandonPadFile(p);
      throw e;
    } finally {
      buf.fill(0);
      source.close();
    }
    registerBoth(sides, paths, padId, opts.size, opts.typicalLength);
  } finally {
    closeSides(sides);
  }
  return { padId };
}

/**
 * {@link createPadPair} for long runs: both files written on the thread pool while the next chunk is made,
 * progress after every chunk, and a stop on `signal` after the chunk in progress.
 *
 * @throws OnepadError CANCELLED (stopped: nothing registered, both partial files abandoned), INVALID_ARGUMENT,
 *   CONTACT_EXISTS, DATA_DIR_UNSAFE, STORAGE_FAILED, STORAGE_FULL (no room for both copies)
 */
export async function createPadPairAsync(opts: PadPairAsyncOptions): Promise<{ padId: string }> {
  const now = opts.now ?? Date.now;
  const padId = opts.padId ?? newPadId();
  const sides = openSides(opts, padId);
  try {
    const source = sourceFiller(opts.source, opts.size);
    const writers = sides.map((s) => PadFileWriter.create(s.padsDir, padId, opts.size));
    // Two buffers in turn: one being written to both files while the other is filled.
    const bufs = [0, 1].map(() => new Uint8Array(Math.min(CHUNK, opts.size)));
    let inFlight: Promise<unknown> = Promise.resolve();
    const started = now();
    const paths: string[] = [];
    try {
      for (let off = 0, k = 0; off < opts.size; k++) {
        if (opts.signal?.aborted) throw new OnepadError('CANCELLED', { done: off, size: opts.size });
        const buf = bufs[k % 2] as Uint8Array;
        const chunk = buf.subarray(0, Math.min(buf.length, opts.size - off));
        source.fill(chunk, off);
        await inFlight; // the other buffer's writes are done: it may be refilled next
        const at = off;
        inFlight = Promise.all(writers.map((w) => w.writeAsync(chunk, at)));
        inFlight.catch(() => {}); // awaited next round or below
        off += chunk.length;
        const elapsed = Math.max(1, now() - started) / 1000;
        const rate = at / elapsed;
        opts.onProgress?.({
          bytes: at,
          total: opts.size,
          bytesPerSecond: rate,
          secondsLeft: rate > 0 ? (opts.size - at) / rate : Number.POSITIVE_INFINITY,
        });
      }
      await inFlight;
      for (const w of writers) paths.push(await w.finishAsync());
      opts.onProgress?.({ bytes: opts.size, total: opts.size, bytesPerSecond: 0, secondsLeft: 0 });
    } catch (e) {
      await Promise.allSettled([inFlight]);
      for (const w of writers) w.abort();
      for (const p of paths) abandonPadFile(p);
      throw e;
    } finally {
      for (const b of bufs) b.fill(0);
      source.close();
    }
    registerBoth(sides, paths, padId, opts.size, opts.typicalLength);
  } finally {
    closeSides(sides);
  }
  return { padId };
}
