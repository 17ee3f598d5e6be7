import { chmodSync, closeSync, constants, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import { OnepadError } from '../errors.js';
import { LEDGER_SCHEMA_VERSION, MIGRATIONS, type Migration } from './migrations.js';

/** An open better-sqlite3 database. */
export type Db = Database.Database;

/** True when `e` is SQLite saying another connection holds the lock. */
function isBusy(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

/**
 * Open (creating if needed, mode 0600) the ledger database and take SQLite's own exclusive lock on it for the
 * life of the connection (`PRAGMA locking_mode = EXCLUSIVE`, then an exclusive transaction): while one
 * connection holds the ledger, no other connection, in this process or another, can read or write it, so one
 * data dir has one owner. The kernel drops the lock when the process dies, so a crash never leaves a stale lock.
 * Then the durability settings every commit relies on: WAL journal (with the exclusive lock, SQLite keeps the
 * WAL index in memory and uses no -shm file), synchronous=FULL (each commit is fsynced before it returns),
 * foreign keys on; and the schema brought up to {@link LEDGER_SCHEMA_VERSION}.
 *
 * A second opener gets DATA_DIR_BUSY before it reads or writes a byte of the ledger.
 *
 * @param path - the ledger file
 * @param migrations - the migration list (tests pass a prefix to build old ledgers)
 * @throws OnepadError DATA_DIR_BUSY when another connection holds the ledger; LEDGER_SCHEMA_TOO_NEW when the file
 *   was written by a newer schema; STORAGE_FAILED when the file cannot be created
 */
export function openLedgerDb(path: string, migrations: readonly Migration[] = MIGRATIONS): Db {
  try {
    // Create it 0600 ourselves: SQLite would create it (and its WAL, which takes the file's mode) as 0644.
    closeSync(openSync(path, constants.O_RDWR | constants.O_CREAT, 0o600));
  } catch {
    throw new OnepadError('STORAGE_FAILED', { reason: 'ledger cannot be created' }, 'ledger cannot be created');
  }
  const db = new Database(path);
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('busy_timeout = 0');
    try {
      db.exec('BEGIN EXCLUSIVE');
      db.exec('COMMIT');
    } catch (e) {
      if (isBusy(e)) {
        throw new OnepadError('DATA_DIR_BUSY', { file: 'ledger.db' }, 'another process has this data dir open');
      }
      throw e;
    }
    chmodSync(path, 0o600);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    migrate(db, migrations);
    return db;
  } catch (e) {
    db.close();
    throw e;
  }
}

/** The schema version stored in the file. */
export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Apply every migration above the stored version, each in its own transaction with its version bump.
 *
 * @throws OnepadError LEDGER_SCHEMA_TOO_NEW when the stored version is above the newest migration
 */
export function migrate(db: Db, migrations: readonly Migration[] = MIGRATIONS): void {
  const current = schemaVersion(db);
  const target = migrations.length;
  if (current > target) {
    throw new OnepadError('LEDGER_SCHEMA_TOO_NEW', { found: current, supported: target });
  }
  for (const m of migrations.slice(current)) {
    db.transaction(() => {
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    })();
  }
}

export { LEDGER_SCHEMA_VERSION };
