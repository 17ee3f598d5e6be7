import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

/**
 * The security event log: MAC failures, replays, overlaps, reflections, gaps, exhaustion, crash recovery,
 * HRNG health failures. It is a separate SQLite file (events.db) from the ledger on purpose: an event about an
 * unauthenticated package must not change the ledger (a forged package leaves ledger.db byte-identical).
 *
 * Events carry a time, a kind, an optional pad id and non-secret numbers or short strings (offsets, lengths,
 * source names). Never plaintext, pad bytes, tags or keys: {@link EventLog.record} only accepts those types,
 * and callers pass only counts and offsets. The log keeps the newest `max` rows so a flood of forged packages
 * cannot fill the disk. It is written with synchronous=NORMAL: an event lost to power loss costs a line of
 * history, never a security property.
 */

/** The kinds of event. Add new kinds at the end; document them in docs/errors.md#events. */
export const EVENT_KINDS = [
  'MAC_FAILURE',
  'REPLAY',
  'OVERLAP',
  'REFLECTION',
  'UNKNOWN_PAD',
  'MALFORMED',
  'GAP',
  'EXHAUSTED',
  'LOW_PAD',
  'CRASH_RECOVERY',
  'PAD_CREATED',
  'HRNG_HEALTH_FAILURE',
  'HRNG_SOURCE_LOST',
  'HRNG_SOURCE_SLOW',
  'HRNG_RESUMED',
  'POOL_RECOVERED',
  'PAIRING_FAILED',
] as const;

export type EventKind = (typeof EVENT_KINDS)[number];

/** Non-secret facts about an event. */
export type EventDetail = Readonly<Record<string, number | string | boolean>>;

/** One stored event. */
export interface EventRecord {
  readonly id: number;
  /** Milliseconds since the epoch. */
  readonly time: number;
  readonly kind: EventKind;
  /** Hex pad id, or null for events not about one pad. */
  readonly padId: string | null;
  readonly detail: EventDetail;
}

/** Append-only, bounded security event log. */
export class EventLog {
  private readonly db: Database.Database;
  private readonly insert: Database.Statement<[number, string, string | null, string]>;
  private readonly trim: Database.Statement<[number]>;
  private readonly max: number;
  private readonly now: () => number;

  /**
   * @param path - the events database file (created if missing)
   * @param max - how many events to keep
   * @param now - clock, for tests
   */
  constructor(path: string, max = 10_000, now: () => number = Date.now) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(`CREATE TABLE IF NOT EXISTS events (
      id INTEGER PRIMARY KEY AUTOINCREMENT, time INTEGER NOT NULL, kind TEXT NOT NULL,
      pad_id TEXT, detail TEXT NOT NULL) STRICT`);
    this.insert = this.db.prepare('INSERT INTO events (time, kind, pad_id, detail) VALUES (?, ?, ?, ?)');
    this.trim = this.db.prepare('DELETE FROM events WHERE id <= (SELECT max(id) FROM events) - ?');
    this.max = max;
    this.now = now;
  }

  /** Record one event. Never throws: a failing log must not turn into a failing operation. */
  record(kind: EventKind, padId: string | null, detail: EventDetail = {}): void {
    try {
      const info = this.insert.run(this.now(), kind, padId, JSON.stringify(detail));
      if (Number(info.lastInsertRowid) % 100 === 0) this.trim.run(this.max);
    } catch {
      // The event log is history, not state: losing a line is better than failing the caller.
    }
  }

  /** The newest events, newest first. */
  recent(limit = 20, kinds?: readonly EventKind[]): EventRecord[] {
    const where = kinds ? `WHERE kind IN (${kinds.map(() => '?').join(', ')})` : '';
    const rows = this.db
      .prepare(`SELECT id, time, kind, pad_id AS padId, detail FROM events ${where} ORDER BY id DESC LIMIT ?`)
      .all(...(kinds ?? []), limit) as {
      id: number;
      time: number;
      kind: EventKind;
      padId: string | null;
      detail: string;
    }[];
    return rows.map((r) => ({ ...r, detail: JSON.parse(r.detail) as EventDetail }));
  }

  /** Close the database. */
  close(): void {
    if (this.db.open) this.db.close();
  }
}
