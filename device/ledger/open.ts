import Database from 'better-sqlite3';
import { OnepadError } from '../errors.js';
import { LEDGER_SCHEMA_VERSION, MIGRATIONS, type Migration } from './migrations.js';

/** An open better-sqlite3 database. */
export type Db = Database.Database;

/**
 * Open (creating if needed) the ledger database with the durability settings every commit relies on:
 * WAL journal, synchronous=FULL (each commit is fsynced before it returns), foreign keys on.
 * Then bring its schema up to {@link LEDGER_SCHEMA_VERSION}.
 *
 * @param path - the ledger file
 * @param migrations - the migration list (tests pass a prefix to build old ledgers)
 * @throws OnepadError LEDGER_SCHEMA_TOO_NEW when the file was written by a newer schema
 */
export function openLedgerDb(path: string, migrations: readonly Migration[] = MIGRATIONS): Db {
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
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
