/**
 * The relay's storage: waiting messages and registered names in one SQLite file (WAL, synchronous=FULL, so an
 * answered send survives a crash of the relay). It holds only what it must: sender, recipient, size, time and
 * the opaque package; for names, a hash of the token and the registration time. To hold each source address to
 * its share, a message also carries a tag of the address it came from (and one of its IPv6 site): a keyed hash whose key lives only in the
 * relay's memory (a new one at each start), so the file never reveals an address, and after a restart the tags
 * of older messages match no one (they count against no source's share until they are gone).
 *
 * Refs come from an AUTOINCREMENT key, so they only grow, even after the newest message was deleted: "after a
 * reference number" never misses a message.
 */
import { timingSafeEqual } from 'node:crypto';
import { sha256 } from '@noble/hashes/sha2.js';
import Database from 'better-sqlite3';
import { OnepadError } from '../device/errors.js';

/** One waiting message as the relay holds it. */
export interface StoredMessage {
  readonly ref: number;
  readonly from: string;
  readonly to: string;
  readonly size: number;
  /** When the relay accepted it (ms since the epoch, from the relay's clock). */
  readonly time: number;
  readonly package: Uint8Array;
}

/** A share of what waits: for one tag, in all, in bytes and for any one recipient. */
export interface Share {
  /** The tag (see {@link RelayStore}); opaque bytes. */
  readonly tag: Uint8Array;
  readonly maxWaiting: number;
  readonly maxWaitingBytes: number;
  readonly maxWaitingPerRecipient: number;
}

/** A source's share, and its IPv6 site's (the /48 around its /64), checked on insert with the store's own limits. */
export interface SourceQuota extends Share {
  readonly site?: Share;
}

/** Limits the store enforces on insert. */
export interface StoreLimits {
  readonly maxWaitingPerRecipient: number;
  readonly maxWaitingTotal: number;
  readonly maxNames: number;
}

const SCHEMA_VERSION = 3;
const SCHEMA = `
CREATE TABLE IF NOT EXISTS messages (
  ref INTEGER PRIMARY KEY AUTOINCREMENT,
  sender TEXT NOT NULL,
  recipient TEXT NOT NULL,
  size INTEGER NOT NULL,
  time INTEGER NOT NULL,
  package BLOB NOT NULL,
  source BLOB,
  site BLOB
);
CREATE INDEX IF NOT EXISTS messages_source ON messages (source, recipient, size);
CREATE INDEX IF NOT EXISTS messages_site ON messages (site, recipient, size);
CREATE INDEX IF NOT EXISTS messages_recipient ON messages (recipient, ref);
CREATE INDEX IF NOT EXISTS messages_time ON messages (time);
CREATE TABLE IF NOT EXISTS names (
  name TEXT PRIMARY KEY,
  token_hash BLOB NOT NULL,
  registered INTEGER NOT NULL
);
`;
/** Version 1 had no source tags: its messages count against no source. */
const MIGRATE_1_TO_2 = `
ALTER TABLE messages ADD COLUMN source BLOB;
CREATE INDEX IF NOT EXISTS messages_source ON messages (source, recipient, size);
`;
/** Version 2 had no site tags: its messages count against no site (tags are new at each start anyway). */
const MIGRATE_2_TO_3 = `
ALTER TABLE messages ADD COLUMN site BLOB;
`;

interface Row {
  ref: number;
  sender: string;
  recipient: string;
  size: number;
  time: number;
  package: Buffer;
}

/** The hash the relay keeps of a token. */
export function tokenHash(token: string): Uint8Array {
  return sha256(new TextEncoder().encode(token));
}

/** The relay's SQLite store. */
export class RelayStore {
  private readonly db: Database.Database;
  private readonly stmts;

  private constructor(
    db: Database.Database,
    private readonly limits: StoreLimits,
  ) {
    this.db = db;
    this.stmts = {
      countTo: db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM messages WHERE recipient = ?'),
      countAll: db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM messages'),
      insert: db.prepare<[string, string, number, number, Buffer, Buffer | null, Buffer | null]>(
        'INSERT INTO messages (sender, recipient, size, time, package, source, site) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      countSite: db.prepare<[Buffer], { n: number; bytes: number }>(
        'SELECT COUNT(*) AS n, COALESCE(SUM(size), 0) AS bytes FROM messages WHERE site = ?',
      ),
      countSiteTo: db.prepare<[Buffer, string], { n: number }>(
        'SELECT COUNT(*) AS n FROM messages WHERE site = ? AND recipient = ?',
      ),
      countSource: db.prepare<[Buffer], { n: number; bytes: number }>(
        'SELECT COUNT(*) AS n, COALESCE(SUM(size), 0) AS bytes FROM messages WHERE source = ?',
      ),
      countSourceTo: db.prepare<[Buffer, string], { n: number }>(
        'SELECT COUNT(*) AS n FROM messages WHERE source = ? AND recipient = ?',
      ),
      fetch: db.prepare<[string, number, number, number], Row>(
        'SELECT * FROM messages WHERE recipient = ? AND ref > ? AND time >= ? ORDER BY ref LIMIT ?',
      ),
      del: db.prepare<[string, number]>('DELETE FROM messages WHERE recipient = ? AND ref = ?'),
      sweep: db.prepare<[number]>('DELETE FROM messages WHERE time < ?'),
      name: db.prepare<[string], { token_hash: Buffer }>('SELECT token_hash FROM names WHERE name = ?'),
      countNames: db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM names'),
      addName: db.prepare<[string, Buffer, number]>(
        'INSERT INTO names (name, token_hash, registered) VALUES (?, ?, ?)',
      ),
    };
  }

  /**
   * Open (creating if needed) the store at `path` (`:memory:` for tests that need no file).
   *
   * @throws OnepadError STORAGE_FAILED when the file cannot be opened or has a newer schema
   */
  static open(path: string, limits: StoreLimits): RelayStore {
    let db: Database.Database;
    try {
      db = new Database(path);
    } catch {
      throw new OnepadError('STORAGE_FAILED', { reason: 'open' }, 'relay database');
    }
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.pragma('busy_timeout = 5000');
      const version = db.pragma('user_version', { simple: true }) as number;
      if (version > SCHEMA_VERSION) throw new OnepadError('STORAGE_FAILED', { reason: 'schema too new', version });
      db.transaction(() => {
        if (version === 1) db.exec(MIGRATE_1_TO_2);
        if (version === 1 || version === 2) db.exec(MIGRATE_2_TO_3);
        db.exec(SCHEMA);
        db.pragma(`user_version = ${SCHEMA_VERSION}`);
      })();
      return new RelayStore(db, limits);
    } catch (e) {
      db.close();
      if (e instanceof OnepadError) throw e;
      throw new OnepadError('STORAGE_FAILED', { reason: 'schema' }, 'relay database');
    }
  }

  /**
   * Check `token` against the one registered for `name`; register it when the name is new (first use).
   *
   * @param mayRegister - asked (inside the transaction) before a new name is registered; it throws to refuse
   * @returns true when the token matches or was just registered
   * @throws OnepadError RELAY_FULL (scope names) when a new name would exceed `maxNames`; whatever `mayRegister`
   *   throws
   */
  authenticate(name: string, token: string, now: number, mayRegister?: () => void): boolean {
    const given = Buffer.from(tokenHash(token));
    return this.db.transaction(() => {
      const row = this.stmts.name.get(name);
      if (row) return row.token_hash.length === given.length && timingSafeEqual(row.token_hash, given);
      if ((this.stmts.countNames.get()?.n ?? 0) >= this.limits.maxNames) {
        throw new OnepadError('RELAY_FULL', { scope: 'names', max: this.limits.maxNames });
      }
      mayRegister?.();
      this.stmts.addName.run(name, given, now);
      return true;
    })();
  }

  /**
   * Store a message; committed (fsynced) before it returns.
   *
   * @param source - the sending source's tag and share (and its site's); without it only the store's own limits
   *   apply
   * @returns its ref
   * @throws OnepadError RELAY_FULL (scope `recipient`, `total`, `source`, `source-bytes`, `source-recipient`,
   *   `site`, `site-bytes` or `site-recipient`) when a limit is reached; nothing is stored then
   */
  insert(from: string, to: string, pkg: Uint8Array, now: number, source?: SourceQuota): number {
    return this.db.transaction(() => {
      const tag = source ? Buffer.from(source.tag) : null;
      const siteTag = source?.site ? Buffer.from(source.site.tag) : null;
      const check = (share: Share, t: Buffer, scope: 'source' | 'site') => {
        const counts = scope === 'source' ? this.stmts.countSource : this.stmts.countSite;
        const mine = counts.get(t) ?? { n: 0, bytes: 0 };
        if (mine.n >= share.maxWaiting) {
          throw new OnepadError('RELAY_FULL', { scope, max: share.maxWaiting });
        }
        if (mine.bytes + pkg.length > share.maxWaitingBytes) {
          throw new OnepadError('RELAY_FULL', { scope: `${scope}-bytes`, max: share.maxWaitingBytes });
        }
        const perTo = scope === 'source' ? this.stmts.countSourceTo : this.stmts.countSiteTo;
        if ((perTo.get(t, to)?.n ?? 0) >= share.maxWaitingPerRecipient) {
          throw new OnepadError('RELAY_FULL', { scope: `${scope}-recipient`, max: share.maxWaitingPerRecipient });
        }
      };
      if (source && tag) check(source, tag, 'source');
      if (source?.site && siteTag) check(source.site, siteTag, 'site');
      const forTo = this.stmts.countTo.get(to)?.n ?? 0;
      if (forTo >= this.limits.maxWaitingPerRecipient) {
        throw new OnepadError('RELAY_FULL', { scope: 'recipient', max: this.limits.maxWaitingPerRecipient });
      }
      const all = this.stmts.countAll.get()?.n ?? 0;
      if (all >= this.limits.maxWaitingTotal) {
        throw new OnepadError('RELAY_FULL', { scope: 'total', max: this.limits.maxWaitingTotal });
      }
      const r = this.stmts.insert.run(from, to, pkg.length, now, Buffer.from(pkg), tag, siteTag);
      return Number(r.lastInsertRowid);
    })();
  }

  /** Messages for `to` with a ref above `after`, oldest first, not older than `notBefore`, at most `limit`. */
  fetch(to: string, after: number, limit: number, notBefore: number): StoredMessage[] {
    return this.stmts.fetch.all(to, after, notBefore, limit).map((r) => ({
      ref: r.ref,
      from: r.sender,
      to: r.recipient,
      size: r.size,
      time: r.time,
      package: new Uint8Array(r.package),
    }));
  }

  /** Delete the given refs of `to` (refs of other recipients are left alone). Returns how many were deleted. */
  ack(to: string, refs: readonly number[]): number {
    return this.db.transaction(() => {
      let n = 0;
      for (const ref of refs) n += this.stmts.del.run(to, ref).changes;
      return n;
    })();
  }

  /** Delete every message accepted before `before`. Returns how many. */
  sweep(before: number): number {
    return this.stmts.sweep.run(before).changes;
  }

  /** Messages waiting, for `to` or in total. */
  count(to?: string): number {
    return (to === undefined ? this.stmts.countAll.get()?.n : this.stmts.countTo.get(to)?.n) ?? 0;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
