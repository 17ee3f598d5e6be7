/**
 * Ledger schema migrations, in order. Migration i (1-based) takes the schema from version i-1 to version i.
 * The schema version is SQLite's `PRAGMA user_version`. Never edit a migration that has shipped: add one.
 * test/ledger-migrations.test.ts upgrades a ledger from every earlier version and checks the result.
 */
export interface Migration {
  /** The version this migration produces. */
  readonly version: number;
  /** What it does, for the changelog and test names. */
  readonly description: string;
  /** SQL run inside one transaction together with the user_version bump. */
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'pads, received ranges, burn queue',
    sql: `
      CREATE TABLE pads (
        pad_id     BLOB PRIMARY KEY CHECK (length(pad_id) = 16),
        contact    TEXT NOT NULL,
        side       TEXT NOT NULL CHECK (side IN ('A', 'B')),
        size       INTEGER NOT NULL CHECK (size >= 0),
        split      INTEGER NOT NULL CHECK (split >= 0 AND split <= size),
        cursor     INTEGER NOT NULL CHECK (cursor >= 0 AND cursor <= size),
        state      TEXT NOT NULL CHECK (state IN ('active', 'exhausted', 'retired')),
        insecure   INTEGER NOT NULL CHECK (insecure IN (0, 1)),
        created_at INTEGER NOT NULL
      ) STRICT;
      CREATE UNIQUE INDEX pads_one_active_per_contact ON pads (contact) WHERE state = 'active';
      CREATE TABLE received (
        pad_id BLOB NOT NULL REFERENCES pads (pad_id),
        start  INTEGER NOT NULL,
        end    INTEGER NOT NULL CHECK (end > start),
        PRIMARY KEY (pad_id, start)
      ) STRICT, WITHOUT ROWID;
      CREATE TABLE burn_queue (
        pad_id BLOB NOT NULL REFERENCES pads (pad_id),
        start  INTEGER NOT NULL,
        end    INTEGER NOT NULL CHECK (end > start),
        PRIMARY KEY (pad_id, start)
      ) STRICT, WITHOUT ROWID;
    `,
  },
  {
    version: 2,
    description: 'entropy pool counters (hrng/pool.ts)',
    sql: `
      CREATE TABLE pool (
        id             INTEGER PRIMARY KEY CHECK (id = 1),
        capacity       INTEGER NOT NULL CHECK (capacity >= 0),
        filled         INTEGER NOT NULL CHECK (filled >= 0),
        consumed       INTEGER NOT NULL CHECK (consumed >= 0 AND consumed <= filled),
        burned         INTEGER NOT NULL CHECK (burned >= 0 AND burned <= consumed),
        insecure_until INTEGER NOT NULL CHECK (insecure_until >= 0 AND insecure_until <= filled),
        CHECK (filled - consumed <= capacity)
      ) STRICT;
      INSERT INTO pool (id, capacity, filled, consumed, burned, insecure_until) VALUES (1, 0, 0, 0, 0, 0);
    `,
  },
  {
    version: 3,
    description: 'entropy pool: latched filler failure, cleared only by the operator (hrng/filler.ts)',
    sql: `
      ALTER TABLE pool ADD COLUMN latch TEXT CHECK (latch IS NULL OR length(latch) <= 200);
    `,
  },
  {
    version: 4,
    description:
      'wire format v2: pad layout (key slots per side), send index, received key slots; v1 pads stay marked v1',
    sql: `
      ALTER TABLE pads ADD COLUMN wire_version INTEGER NOT NULL DEFAULT 1 CHECK (wire_version IN (1, 2));
      ALTER TABLE pads ADD COLUMN key_slots_a INTEGER NOT NULL DEFAULT 0 CHECK (key_slots_a >= 0);
      ALTER TABLE pads ADD COLUMN key_slots_b INTEGER NOT NULL DEFAULT 0 CHECK (key_slots_b >= 0);
      ALTER TABLE pads ADD COLUMN send_index INTEGER NOT NULL DEFAULT 0 CHECK (send_index >= 0);
      ALTER TABLE received ADD COLUMN slot INTEGER CHECK (slot IS NULL OR slot >= 0);
      CREATE UNIQUE INDEX received_one_per_slot ON received (pad_id, slot) WHERE slot IS NOT NULL;
    `,
  },
];

/** The schema version this build writes. */
export const LEDGER_SCHEMA_VERSION = MIGRATIONS.length;
