import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../device/config/config.js';
import { autoApprove } from '../../device/confirm.js';
import { DeviceEngine } from '../../device/engine.js';
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

  it('upgrades a v1-era ledger to schema 4: its pads stay, marked wire v1, and are refused both ways', async () => {
    const root = mkdtempSync(join(tmpdir(), 'onepad-mig-'));
    const dir = join(root, 'd');
    mkdirSync(join(dir, 'pads'), { recursive: true, mode: 0o700 });
    const path = join(dir, 'ledger.db');
    const old = openLedgerDb(path, MIGRATIONS.slice(0, 3));
    const padId = 'a0a1a2a3a4a5a6a7a8a9aaabacadaeaf';
    old
      .prepare("INSERT INTO pads VALUES (?, 'bob', 'A', 4096, 2048, 41, 'active', 1, 0)")
      .run(Buffer.from(padId, 'hex'));
    old.prepare('INSERT INTO received VALUES (?, 3000, 3040)').run(Buffer.from(padId, 'hex'));
    old.close();
    writeFileSync(join(dir, 'pads', `${padId}.pad`), Buffer.alloc(4096, 7), { mode: 0o600 });

    const engine = DeviceEngine.open({ config: parseConfig({ dataDir: dir }), confirmer: autoApprove });
    try {
      const db = engine.ledger.db;
      expect(schemaVersion(db)).toBe(4);
      expect(db.prepare('SELECT wire_version, key_slots_a, key_slots_b, send_index, cursor FROM pads').get()).toEqual({
        wire_version: 1,
        key_slots_a: 0,
        key_slots_b: 0,
        send_index: 0,
        cursor: 41,
      });
      expect(db.prepare('SELECT start, end, slot FROM received').all()).toEqual([
        { start: 3000, end: 3040, slot: null },
      ]);
      expect(engine.pads()[0]).toMatchObject({ wireVersion: 1, remaining: 0, maxMessageLength: 0, messagesLeft: 0 });
      await expect(engine.package('bob', new TextEncoder().encode('hi'))).rejects.toMatchObject({
        code: 'UNSUPPORTED_VERSION',
      });
      // A v2 package naming the v1 pad is refused by version before anything else is looked at.
      const pkg = new Uint8Array(50 + 2);
      pkg[0] = 2;
      pkg[1] = 1;
      pkg.set(Buffer.from(padId, 'hex'), 2);
      new DataView(pkg.buffer).setUint32(30, 2, false);
      await expect(engine.unpackage(pkg)).rejects.toMatchObject({ code: 'UNSUPPORTED_VERSION' });
    } finally {
      engine.close();
    }
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
