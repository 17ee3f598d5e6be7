import { chmodSync, closeSync, fsyncSync, lstatSync, mkdirSync, openSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { OnepadError } from './errors.js';

/** Where each file lives inside the data dir. */
export interface DataDirLayout {
  readonly root: string;
  readonly ledger: string;
  readonly events: string;
  readonly pads: string;
  /** The entropy pool file (hrng/). */
  readonly pool: string;
}

/** The file layout of a data dir. */
export function dataDirLayout(root: string): DataDirLayout {
  return {
    root,
    ledger: join(root, 'ledger.db'),
    events: join(root, 'events.db'),
    pads: join(root, 'pads'),
    pool: join(root, 'pool.bin'),
  };
}

/**
 * Create the data dir and its pads/ folder with mode 0700 (tightening an existing one), and refuse a path that
 * is a symlink or not a directory. A folder it creates is made durable: its parent is fsynced, so the new entry
 * survives power loss (a pad file renamed into a pads/ whose own entry was lost would be lost with it).
 *
 * @throws OnepadError DATA_DIR_UNSAFE when the path is a symlink or not a directory, or cannot be created
 */
export function prepareDataDir(root: string): DataDirLayout {
  const layout = dataDirLayout(root);
  for (const dir of [layout.root, layout.pads]) {
    let created: string | undefined;
    try {
      created = mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch {
      throw new OnepadError('DATA_DIR_UNSAFE', { reason: 'cannot create' }, `cannot create ${dir}`);
    }
    if (created !== undefined) syncCreated(created, dir);
    const st = lstatSync(dir);
    if (st.isSymbolicLink() || !st.isDirectory()) {
      throw new OnepadError('DATA_DIR_UNSAFE', { reason: 'not a directory' }, `${dir} is not a plain directory`);
    }
    if ((st.mode & 0o077) !== 0) chmodSync(dir, 0o700);
  }
  return layout;
}

/** fsync the parent of every folder from `first` (the first one mkdir created) down to `last`. */
function syncCreated(first: string, last: string): void {
  const chain: string[] = [];
  for (let d = last; d.length >= first.length; d = dirname(d)) {
    chain.push(dirname(d));
    if (d === first || dirname(d) === d) break;
  }
  for (const parent of chain) {
    const fd = openSync(parent, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
}
