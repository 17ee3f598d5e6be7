import { chmodSync, closeSync, constants, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

/**
 * The security event log: MAC failures, replays, overlaps, reflections, gaps, exhaustion, crash recovery,
 * HRNG health failures. It is a separate SQLite file (events.db) from the ledger on purpose: an event about an
 * unauthenticated package must not change the ledger (a forged package leaves ledger.db byte-identical).
 *
 * Events carry a time, a kind, an optional pad id and non-secret numbers or short strings (offsets, lengths,
 * source names). Never plaintext, pad bytes, tags or keys: {@link EventLog.record} only accepts those types,
 * and callers pass only counts and offsets. It is written with synchronous=NORMAL: an event lost to power loss
 * costs a line of history, never a security property.
 *
 * Security evidence is kept apart from repeated junk, so a flood from the relay cannot evict it:
 * - {@link JUNK_KINDS} (packages that do not parse or name no pad of ours: anyone can make them) are counted, not
 *   stored one by one: one row per (kind, pad, reason) with a count and the first and last time.
 * - Every other kind is stored one by one, and each kind keeps its own newest `max` rows: a flood of one kind
 *   (forged packages, say) only ever evicts older events of that same kind, never a GAP, a REPLAY or a crash
 *   recovery. Every kind also has a running total (first and last time), kept however many rows were trimmed.
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
  'PAD_BURNED',
  'SESSION_OPENED',
  'SESSION_ENDED',
] as const;

export type EventKind = (typeof EVENT_KINDS)[number];

/** Kinds that any sender can produce at will and that prove nothing: counted, never stored one by one. */
export const JUNK_KINDS: ReadonlySet<EventKind> = new Set<EventKind>(['MALFORMED', 'UNKNOWN_PAD']);

/** A running count of one kind (for junk: of one kind, pad and reason). */
export interface EventCount {
  readonly kind: EventKind;
  readonly padId: string | null;
  /** The junk's reason (its error code or parse failure), or '' for stored kinds. */
  readonly reason: string;
  readonly count: number;
  readonly firstTime: number;
  readonly lastTime: number;
}

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
  private readonly trim: Database.Statement<[string, string, number]>;
  private readonly bump: Database.Statement<[string, string, string, number, number]>;
  private readonly max: number;
  private readonly now: () => number;

  /**
   * @param path - the events database file (created if missing)
   * @param max - how many events of each stored kind to keep
   * @param now - clock, for tests
   */
  constructor(path: string, max = 10_000, now: () => number = Date.now) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    // Created 0600 here: SQLite would create it (and its WAL and shm, which take its mode) as 0644.
    closeSync(openSync(path, constants.O_RDWR | constants.O_CREAT, 0o600));
    chmodSync(path, 0o600);
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 1000');
    this.db.exec(`CREATE TABLE IF NOT EXISTS events (
      id INTEGER PRIMARY KEY AUTOINCREMENT, time INTEGER NOT NULL, kind TEXT NOT NULL,
      pad_id TEXT, detail TEXT NOT NULL) STRICT;
      CREATE INDEX IF NOT EXISTS events_by_kind ON events (kind, id);
      CREATE TABLE IF NOT EXISTS event_counts (
        kind TEXT NOT NULL, pad_id TEXT NOT NULL, reason TEXT NOT NULL, count INTEGER NOT NULL,
        first_time INTEGER NOT NULL, last_time INTEGER NOT NULL, PRIMARY KEY (kind, pad_id, reason)) STRICT`);
    this.insert = this.db.prepare('INSERT INTO events (time, kind, pad_id, detail) VALUES (?, ?, ?, ?)');
    this.trim = this.db.prepare(
      'DELETE FROM events WHERE kind = ? AND id <= (SELECT id FROM events WHERE kind = ? ORDER BY id DESC LIMIT 1 OFFSET ?)',
    );
    this.bump = this.db.prepare(
      `INSERT INTO event_counts (kind, pad_id, reason, count, first_time, last_time) VALUES (?, ?, ?, 1, ?, ?)
         ON CONFLICT (kind, pad_id, reason) DO UPDATE SET count = count + 1, last_time = excluded.last_time`,
    );
    this.max = max;
    this.now = now;
  }

  /** Record one event. Never throws: a failing log must not turn into a failing operation. */
  record(kind: EventKind, padId: string | null, detail: EventDetail = {}): void {
    try {
      const t = this.now();
      if (JUNK_KINDS.has(kind)) {
        const reason = String(detail.reason ?? detail.code ?? '').slice(0, 64);
        this.bump.run(kind, padId ?? '', reason, t, t);
        return;
      }
      this.db.transaction(() => {
        const info = this.insert.run(t, kind, padId, JSON.stringify(detail));
        this.bump.run(kind, '', '', t, t);
        if (Number(info.lastInsertRowid) % 100 === 0) this.trim.run(kind, kind, this.max);
      })();
    } catch {
      // The event log is history, not state: losing a line is better than failing the caller.
    }
  }

  /** Running counts: one row per stored kind, and one per (junk kind, pad, reason); most recent first. */
  counts(): EventCount[] {
    return (
      this.db
        .prepare(
          'SELECT kind, pad_id AS padId, reason, count, first_time AS firstTime, last_time AS lastTime FROM event_counts ORDER BY last_time DESC, kind',
        )
        .all() as (Omit<EventCount, 'padId'> & { padId: string })[]
    ).map((r) => ({ ...r, padId: r.padId === '' ? null : r.padId }));
  }

  /** How many events of `kind` were recorded in all (stored or only counted), 0 if none. */
  total(kind: EventKind): number {
    const row = this.db.prepare('SELECT sum(count) AS n FROM event_counts WHERE kind = ?').get(kind) as {
      n: number | null;
    };
    return row.n ?? 0;
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
