/**
 * Read-only inspection of a data dir for the listing commands (`onepad pad list`, `onepad pad events`): the pads
 * with what is left, and the event log, with no start-up recovery. Recovery burns whatever is queued, which is
 * right only for the data dir's one owner, so inspection never runs it. It takes the ledger's exclusive lock like an
 * engine does, so it refuses (DATA_DIR_BUSY) while the device service or any other owner has the dir open, and
 * no engine can start while it reads.
 */
import { existsSync } from 'node:fs';
import type { Config } from './config/config.js';
import { dataDirLayout } from './data-dir.js';
import { figuresOf } from './engine.js';
import type { PadInfo } from './engine-types.js';
import { EventLog } from './events.js';
import { Ledger } from './ledger/ledger.js';

/** What an inspection can see. */
export interface DataDirView {
  pads(): PadInfo[];
  readonly events: EventLog | null;
}

/**
 * Run `fn` on a read-only view of the data dir, and close it whatever happens. A data dir without a ledger has
 * no pads and no events; nothing is created.
 * @throws OnepadError DATA_DIR_BUSY (another process holds the dir), LEDGER_SCHEMA_TOO_NEW
 */
export async function inspectDataDir<T>(config: Config, fn: (view: DataDirView) => Promise<T> | T): Promise<T> {
  const layout = dataDirLayout(config.dataDir);
  if (!existsSync(layout.ledger)) return fn({ pads: () => [], events: null });
  const ledger = Ledger.open(layout.ledger);
  let events: EventLog | null = null;
  try {
    ledger.db.pragma('query_only = ON');
    events = existsSync(layout.events) ? new EventLog(layout.events, config.engine.eventLogMax) : null;
    const typical = config.engine.typicalMessageLength;
    return await fn({ pads: () => ledger.pads().map((p) => ({ ...p, ...figuresOf(p, typical) })), events });
  } finally {
    events?.close();
    ledger.db.close();
  }
}
