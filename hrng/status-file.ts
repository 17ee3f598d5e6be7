/**
 * The filler's status file (`hrng-status.json` next to the pool, mode 0600): the last progress with every test's
 * counters, written at most once a second while filling and at the end of every run, read by `hrng status`.
 * Counts, names and estimates only, never a byte. Informational: written by rename (a reader never sees half a
 * file), not synced, and a failure to write it never stops filling.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { FillProgress } from './filler.js';

/** What the file holds. */
export interface StatusFile {
  /** When it was written (ms since the epoch). */
  readonly time: number;
  readonly progress: FillProgress;
  readonly latch: string | null;
  readonly error: { readonly code: string; readonly details: Readonly<Record<string, unknown>> } | null;
}

/** Write the status file; errors are ignored (see the module comment). */
export function writeStatus(path: string, status: StatusFile): void {
  const tmp = `${path}.tmp`;
  try {
    writeFileSync(tmp, `${JSON.stringify(status)}\n`, { mode: 0o600 });
    renameSync(tmp, path);
  } catch {
    // informational only
  }
}

/** Read the status file, or null when there is none or it cannot be parsed. */
export function readStatus(path: string): StatusFile | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as StatusFile;
  } catch {
    return null;
  }
}
