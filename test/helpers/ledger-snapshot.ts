import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A hash of everything that is durable state of a data dir: ledger.db and its WAL (not the -shm read index,
 * which readers touch), and every pad file. The event log (events.db) is left out on purpose: it records
 * rejected packages, and is not the ledger.
 */
export function stateHash(dataDir: string): string {
  const h = createHash('sha256');
  for (const f of ['ledger.db', 'ledger.db-wal']) {
    const p = join(dataDir, f);
    h.update(f);
    if (existsSync(p)) h.update(readFileSync(p));
  }
  const pads = join(dataDir, 'pads');
  for (const f of readdirSync(pads).sort()) {
    h.update(f);
    h.update(readFileSync(join(pads, f)));
  }
  return h.digest('hex');
}
