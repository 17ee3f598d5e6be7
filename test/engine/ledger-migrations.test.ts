import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { LEDGER_SCHEMA_VERSION, MIGRATIONS } from '../../device/ledger/migrations.js';
import { openLedgerDb, schemaVersion } from '../../device/ledger/open.js';

const tmp = () => join(mkdtempSync(join(tmpdir(), 'onepad-mig-')), 'ledger.db');

function schemaOf(db: Database.Database): string[] {
  return (
    db
      .prepare("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name")
      .all() as {
      sql: string | null;
    }[]
  ).map((r) => JSON.stringify(r));
}

describe('ledger schema and migrations', () => {
  it('a new ledger is at the newest version, in WAL mode with synchronous=FULL', () => {
    const db = openLedgerDb(tmp());
    expect(schemaVersion(db)).toBe(LEDGER_SCHEMA_VERSION);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('synchronous', { simple: true })).toBe(2);
    db.close();
  });

  it.each(MIGRATIONS.map((m) => m.version - 1))(
    'a ledger at version %i upgrades to the same schema as a new one',
    (from) => {
      const fresh = openLedgerDb(tmp());
      const want = schemaOf(fresh);
      fresh.close();
      const path = tmp();
      const old = openLedgerDb(path, MIGRATIONS.slice(0, from));
      expect(schemaVersion(old)).toBe(from);
      old.close();
      const upgraded = openLedgerDb(path);
      expect(schemaVersion(upgraded)).toBe(LEDGER_SCHEMA_VERSION);
      expect(schemaOf(upgraded)).toEqual(want);
      upgraded.close();
    },
  );

  it('keeps rows across an upgrade from version 1', () => {
    const path = tmp();
    const v1 = openLedgerDb(path, MIGRATIONS.slice(0, 1));
    v1.prepare("INSERT INTO pads VALUES (randomblob(16), 'bob', 'A', 100, 50, 7, 'active', 1, 0)").run();
    v1.close();
    const db = openLedgerDb(path);
    expect(db.prepare('SELECT contact, cursor FROM pads').all()).toEqual([{ contact: 'bob', cursor: 7 }]);
    db.close();
  });

  it('refuses a ledger written by a newer schema', () => {
    const path = tmp();
    const db = new Database(path);
    db.pragma(`user_version = ${LEDGER_SCHEMA_VERSION + 1}`);
    db.close();
    expect(() => openLedgerDb(path)).toThrow(expect.objectContaining({ code: 'LEDGER_SCHEMA_TOO_NEW' }));
  });

  it('a failing migration leaves the ledger at its previous version', () => {
    const path = tmp();
    openLedgerDb(path, MIGRATIONS.slice(0, 1)).close();
    const broken = [
      ...MIGRATIONS.slice(0, 1),
      { version: 2, description: 'broken', sql: 'CREATE TABLE t (x); SELECT * FROM nope;' },
    ];
    expect(() => openLedgerDb(path, broken)).toThrow();
    const db = new Database(path);
    expect(db.pragma('user_version', { simple: true })).toBe(1);
    expect(db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 't'").get()).toEqual({ n: 0 });
    db.close();
  });
});
