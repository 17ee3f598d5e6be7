/**
 * A developer tool: make a matched pair of pads in two data dirs from a given byte source, as pairing would, but
 * without two devices. Always marked insecure: neither source is a health-tested hardware RNG.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { dataDirLayout, prepareDataDir } from './data-dir.js';
import { OnepadError } from './errors.js';
import { EventLog } from './events.js';
import { Ledger } from './ledger/ledger.js';
import { installPad, newPadId } from './pads.js';
import { fillSeeded, seededKey } from './seeded.js';

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

function fileFiller(
  path: string,
  size: number,
): { fill: (chunk: Uint8Array, offset: number) => void; close: () => void } {
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

/**
 * Create the same pad in both data dirs (side A in `dirA`, side B in `dirB`), with the same v2 layout recorded
 * in both ledgers.
 * @returns the pad id
 * @throws OnepadError INVALID_ARGUMENT, CONTACT_EXISTS, DATA_DIR_UNSAFE
 */
export function createPadPair(opts: PadPairOptions): { padId: string } {
  const padId = opts.padId ?? newPadId();
  const sides = [
    { dir: opts.dirA, side: 'A' as const, contact: opts.nameB },
    { dir: opts.dirB, side: 'B' as const, contact: opts.nameA },
  ];
  for (const s of sides) {
    const layout = prepareDataDir(s.dir);
    const ledger = Ledger.open(layout.ledger);
    const events = new EventLog(dataDirLayout(s.dir).events);
    const source =
      opts.source.kind === 'seeded'
        ? (() => {
            const key = seededKey(opts.source.seed);
            return { fill: (c: Uint8Array, off: number) => fillSeeded(key, c, off), close: () => key.fill(0) };
          })()
        : fileFiller(opts.source.path, opts.size);
    try {
      installPad(
        s.dir,
        ledger,
        events,
        {
          padId,
          contact: s.contact,
          side: s.side,
          size: opts.size,
          insecure: true,
          ...(opts.typicalLength !== undefined ? { typicalLength: opts.typicalLength } : {}),
        },
        source.fill,
      );
    } finally {
      source.close();
      ledger.close();
      events.close();
    }
  }
  return { padId };
}
