/**
 * The ledger: pads, their cursors, the segments received on each, and the queue of segments to burn.
 * Every state change is one SQLite transaction, fsynced before it returns (WAL, synchronous=FULL).
 * No pad bytes and no plaintext are ever stored here.
 */

import type { Statement, Transaction } from 'better-sqlite3';
import type { ByteRange, PadRecord } from '../engine-types.js';
import { OnepadError } from '../errors.js';
import { keySlot, sideAreas } from '../layout.js';
import { looksAlike } from '../lookalike.js';
import { MAC_KEY_LENGTH, type Side, WIRE_VERSION } from '../wire.js';
import { type Db, openLedgerDb } from './open.js';

/** A pad row. */
export type PadRow = PadRecord;

/** A segment queued for burning. */
export interface BurnEntry extends ByteRange {
  readonly padId: string;
}

interface RawPad {
  pad_id: Buffer;
  contact: string;
  side: Side;
  size: number;
  split: number;
  cursor: number;
  state: PadRow['state'];
  insecure: number;
  created_at: number;
  wire_version: number;
  key_slots_a: number;
  key_slots_b: number;
  send_index: number;
}

/** What a reservation hands out: the message index, its key slot, and its stream range. */
export interface Reservation {
  readonly index: number;
  readonly key: ByteRange;
  readonly stream: ByteRange;
  /** The pad row as it is after the reservation. */
  readonly after: PadRow;
}

/** What a chunk reservation hands out: consecutive key slots (one contiguous range) and one stream range. */
export interface ChunkReservation {
  readonly firstIndex: number;
  readonly slots: number;
  /** Key slots firstIndex .. firstIndex + slots - 1, as one range of 32 * slots bytes. */
  readonly keys: ByteRange;
  readonly stream: ByteRange;
  readonly after: PadRow;
}

function toRow(r: RawPad): PadRow {
  return {
    padId: r.pad_id.toString('hex'),
    contact: r.contact,
    side: r.side,
    size: r.size,
    split: r.split,
    cursor: r.cursor,
    state: r.state,
    insecure: r.insecure === 1,
    createdAt: r.created_at,
    wireVersion: r.wire_version,
    keySlotsA: r.key_slots_a,
    keySlotsB: r.key_slots_b,
    sendIndex: r.send_index,
  };
}

/** Stream bytes and key slots this side can still send with. */
export function sendRoom(pad: PadRow): { keySlotsLeft: number; streamLeft: number } {
  if (pad.wireVersion !== WIRE_VERSION) return { keySlotsLeft: 0, streamLeft: 0 };
  const areas = sideAreas(pad, pad.side);
  return {
    keySlotsLeft: Math.max(0, areas.slots - pad.sendIndex),
    streamLeft: pad.side === 'A' ? areas.stream.end - pad.cursor : pad.cursor - areas.stream.start,
  };
}

const id = (hex: string): Buffer => Buffer.from(hex, 'hex');

/** Typed access to the ledger database. */
export class Ledger {
  readonly db: Db;
  /** Burned segments whose burn_queue rows are deleted with the next transaction (see {@link markBurned}). */
  private burnedPending: BurnEntry[] = [];
  private readonly statements = new Map<string, Statement>();
  private readonly transact: Transaction<(pending: readonly BurnEntry[], fn: () => void) => void>;

  private constructor(db: Db) {
    this.db = db;
    this.transact = db.transaction((pending: readonly BurnEntry[], fn: () => void) => {
      const del = this.stmt('DELETE FROM burn_queue WHERE pad_id = ? AND start = ?');
      for (const b of pending) del.run(id(b.padId), b.start);
      fn();
    });
  }

  /** A prepared statement, prepared once per connection. */
  private stmt(sql: string): Statement {
    let st = this.statements.get(sql);
    if (!st) {
      st = this.db.prepare(sql);
      this.statements.set(sql, st);
    }
    return st;
  }

  /**
   * Open the ledger file, creating and migrating it as needed.
   * @throws OnepadError LEDGER_SCHEMA_TOO_NEW
   */
  static open(path: string): Ledger {
    return new Ledger(openLedgerDb(path));
  }

  /** A pad by hex id, or undefined. */
  pad(padId: string): PadRow | undefined {
    const r = this.stmt('SELECT * FROM pads WHERE pad_id = ?').get(id(padId)) as RawPad | undefined;
    return r && toRow(r);
  }

  /** The active pad for a contact, or undefined. */
  activePad(contact: string): PadRow | undefined {
    const r = this.stmt("SELECT * FROM pads WHERE contact = ? AND state = 'active'").get(contact) as RawPad | undefined;
    return r && toRow(r);
  }

  /** The newest exhausted pad of a contact, or undefined (to say PAD_EXHAUSTED rather than UNKNOWN_CONTACT). */
  exhaustedPad(contact: string): PadRow | undefined {
    const r = this.stmt(
      "SELECT * FROM pads WHERE contact = ? AND state = 'exhausted' ORDER BY created_at DESC, rowid DESC LIMIT 1",
    ).get(contact) as RawPad | undefined;
    return r && toRow(r);
  }

  /** Every pad, oldest first. */
  pads(): PadRow[] {
    return (this.stmt('SELECT * FROM pads ORDER BY created_at, rowid').all() as RawPad[]).map(toRow);
  }

  /** The contact names of every pad that is not retired, each once. */
  contactNames(): string[] {
    return (this.stmt("SELECT DISTINCT contact FROM pads WHERE state != 'retired'").all() as { contact: string }[]).map(
      (r) => r.contact,
    );
  }

  /** A contact name (of a pad not retired) other than `name` that looks like it, or undefined. */
  lookalikeOf(name: string): string | undefined {
    return this.contactNames().find((other) => other !== name && looksAlike(name, other));
  }

  /**
   * Add a v2 pad row (its file must already be complete and synced). The cursor starts at the sender's end of its
   * stream area, the send index at 0.
   * @throws OnepadError CONTACT_EXISTS when the contact already has an active pad; CONTACT_LOOKALIKE when another
   *   contact (of a pad not retired) has a different name that looks like this one (device/lookalike.ts)
   */
  insertPad(p: Omit<PadRow, 'state' | 'cursor' | 'wireVersion' | 'sendIndex'>): void {
    const stream = sideAreas(p, p.side).stream;
    const cursor = p.side === 'A' ? stream.start : stream.end;
    this.write(() => {
      if (this.activePad(p.contact)) throw new OnepadError('CONTACT_EXISTS', { contact: p.contact });
      const other = this.lookalikeOf(p.contact);
      if (other !== undefined) throw new OnepadError('CONTACT_LOOKALIKE', { contact: p.contact, other });
      this.stmt(
        `INSERT INTO pads (pad_id, contact, side, size, split, cursor, state, insecure, created_at,
                           wire_version, key_slots_a, key_slots_b, send_index)
           VALUES (?, ?, ?, ?, ?, ?, 'active', ?, ?, ?, ?, ?, 0)`,
      ).run(
        id(p.padId),
        p.contact,
        p.side,
        p.size,
        p.split,
        cursor,
        p.insecure ? 1 : 0,
        p.createdAt,
        WIRE_VERSION,
        p.keySlotsA,
        p.keySlotsB,
      );
    });
  }

  /**
   * Reserve the next message of `length` bytes on an active pad: key slot `send_index` and the next `length`
   * bytes of the stream area (A forward, B backward), read from the row and written back in one immediate,
   * durable transaction, so two reservations can never be handed the same bytes. When burning, both ranges are
   * queued for burning in the same transaction. After this returns, neither range is ever handed out again.
   *
   * @throws OnepadError PAD_EXHAUSTED when the pad is no longer active or the message no longer fits (another
   *   sender got there first), UNSUPPORTED_VERSION for a v1 pad
   */
  reserveSend(padId: string, length: number, burn: boolean): Reservation {
    let out: Reservation | undefined;
    this.write(() => {
      const pad = this.pad(padId);
      if (pad?.state !== 'active') {
        throw new OnepadError('PAD_EXHAUSTED', { remaining: 0, needed: length + MAC_KEY_LENGTH, maxMessageLength: 0 });
      }
      if (pad.wireVersion !== WIRE_VERSION) throw new OnepadError('UNSUPPORTED_VERSION', { version: pad.wireVersion });
      const room = sendRoom(pad);
      if (room.keySlotsLeft < 1 || room.streamLeft < length) {
        throw new OnepadError('PAD_EXHAUSTED', {
          remaining: room.keySlotsLeft > 0 ? room.streamLeft + MAC_KEY_LENGTH * room.keySlotsLeft : 0,
          needed: length + MAC_KEY_LENGTH,
          maxMessageLength: room.keySlotsLeft > 0 ? room.streamLeft : 0,
        });
      }
      const areas = sideAreas(pad, pad.side);
      const index = pad.sendIndex;
      const key = keySlot(areas, index);
      const stream =
        pad.side === 'A'
          ? { start: pad.cursor, end: pad.cursor + length }
          : { start: pad.cursor - length, end: pad.cursor };
      const cursor = pad.side === 'A' ? stream.end : stream.start;
      const exhausted = room.keySlotsLeft - 1 < 1 || room.streamLeft - length < 1;
      // State changes only on the send that exhausts the pad: leaving it out of the SET otherwise spares SQLite
      // the upkeep of the one-active-pad-per-contact index on every send.
      const info = exhausted
        ? this.stmt(
            "UPDATE pads SET cursor = ?, send_index = ?, state = 'exhausted' WHERE pad_id = ? AND cursor = ? AND send_index = ? AND state = 'active'",
          ).run(cursor, index + 1, id(padId), pad.cursor, index)
        : this.stmt(
            "UPDATE pads SET cursor = ?, send_index = ? WHERE pad_id = ? AND cursor = ? AND send_index = ? AND state = 'active'",
          ).run(cursor, index + 1, id(padId), pad.cursor, index);
      if (info.changes !== 1) {
        throw new OnepadError('PAD_EXHAUSTED', { remaining: 0, needed: length + MAC_KEY_LENGTH, maxMessageLength: 0 });
      }
      if (burn) {
        this.queueBurn(padId, key);
        this.queueBurn(padId, stream);
      }
      out = {
        index,
        key,
        stream,
        after: { ...pad, cursor, sendIndex: index + 1, state: exhausted ? 'exhausted' : 'active' },
      };
    });
    return out as Reservation;
  }

  /**
   * Reserve a chunk for a pipe session: `slots` consecutive key slots from `send_index` and the next `streamBytes`
   * of the stream area (A forward, B backward), in one immediate, durable transaction, exactly as
   * {@link reserveSend} reserves one message (which is a chunk of one slot). When burning, the chunk's key range
   * and stream range are queued for burning in the same transaction, so a crash at any later point gives up the
   * whole chunk and never hands out a byte of it again.
   *
   * @throws OnepadError PAD_EXHAUSTED when the pad is not active or the chunk does not fit, UNSUPPORTED_VERSION
   */
  reserveChunk(padId: string, slots: number, streamBytes: number, burn: boolean): ChunkReservation {
    if (!Number.isSafeInteger(slots) || slots < 1 || !Number.isSafeInteger(streamBytes) || streamBytes < 1) {
      throw new OnepadError('INVALID_ARGUMENT', { argument: 'chunk' }, 'a chunk needs a key slot and a stream byte');
    }
    let out: ChunkReservation | undefined;
    this.write(() => {
      const pad = this.pad(padId);
      const needed = streamBytes + MAC_KEY_LENGTH * slots;
      if (pad?.state !== 'active')
        throw new OnepadError('PAD_EXHAUSTED', { remaining: 0, needed, maxMessageLength: 0 });
      if (pad.wireVersion !== WIRE_VERSION) throw new OnepadError('UNSUPPORTED_VERSION', { version: pad.wireVersion });
      const room = sendRoom(pad);
      if (room.keySlotsLeft < slots || room.streamLeft < streamBytes) {
        throw new OnepadError('PAD_EXHAUSTED', {
          remaining: room.keySlotsLeft > 0 ? room.streamLeft + MAC_KEY_LENGTH * room.keySlotsLeft : 0,
          needed,
          maxMessageLength: room.keySlotsLeft > 0 ? room.streamLeft : 0,
        });
      }
      const areas = sideAreas(pad, pad.side);
      const first = pad.sendIndex;
      const keys = { start: keySlot(areas, first).start, end: keySlot(areas, first + slots - 1).end };
      const stream =
        pad.side === 'A'
          ? { start: pad.cursor, end: pad.cursor + streamBytes }
          : { start: pad.cursor - streamBytes, end: pad.cursor };
      const cursor = pad.side === 'A' ? stream.end : stream.start;
      const exhausted = room.keySlotsLeft - slots < 1 || room.streamLeft - streamBytes < 1;
      const info = this.stmt(
        'UPDATE pads SET cursor = ?, send_index = ?, state = ? WHERE pad_id = ? AND cursor = ? AND send_index = ? AND state = ?',
      ).run(cursor, first + slots, exhausted ? 'exhausted' : 'active', id(padId), pad.cursor, first, 'active');
      if (info.changes !== 1) throw new OnepadError('PAD_EXHAUSTED', { remaining: 0, needed, maxMessageLength: 0 });
      if (burn) {
        this.queueBurn(padId, keys);
        this.queueBurn(padId, stream);
      }
      out = {
        firstIndex: first,
        slots,
        keys,
        stream,
        after: { ...pad, cursor, sendIndex: first + slots, state: exhausted ? 'exhausted' : 'active' },
      };
    });
    return out as ChunkReservation;
  }

  /**
   * Record several verified received messages of one pad in one durable transaction (a pipe session's batch):
   * `check(i)` runs inside the transaction before item i is inserted, so a duplicate within the batch, or one that
   * slipped in since the checks outside, fails the whole batch and nothing is recorded.
   */
  recordReceivedBatch(
    padId: string,
    items: readonly { readonly slot: number; readonly key: ByteRange; readonly stream: ByteRange }[],
    burn: boolean,
    check: (i: number) => void,
  ): void {
    this.write(() => {
      const ins = this.stmt('INSERT INTO received (pad_id, start, end, slot) VALUES (?, ?, ?, ?)');
      items.forEach((it, i) => {
        check(i);
        ins.run(id(padId), it.stream.start, it.stream.end, it.slot);
        if (burn) {
          this.queueBurn(padId, it.key);
          this.queueBurn(padId, it.stream);
        }
      });
    });
  }

  /** Mark a pad retired: it neither sends nor receives any more (its file is burned by the caller). */
  retirePad(padId: string): void {
    this.write(() => {
      this.stmt("UPDATE pads SET state = 'retired' WHERE pad_id = ?").run(id(padId));
    });
  }

  /** The stream range received with key slot `slot` of `padId`, if that slot was received. */
  receivedSlot(padId: string, slot: number): ByteRange | undefined {
    return this.stmt('SELECT start, end FROM received WHERE pad_id = ? AND slot = ?').get(id(padId), slot) as
      | ByteRange
      | undefined;
  }

  /**
   * The received stream range of `padId` with the greatest start below `end`: the only one that can overlap a new
   * range ending at `end`, since received ranges are disjoint.
   */
  nearestReceived(padId: string, end: number): ByteRange | undefined {
    return this.stmt('SELECT start, end FROM received WHERE pad_id = ? AND start < ? ORDER BY start DESC LIMIT 1').get(
      id(padId),
      end,
    ) as ByteRange | undefined;
  }

  /** The peer's frontier: max end (forward sender A) or min start (backward sender B), or null if none. */
  receivedFrontier(padId: string, senderSide: Side): number | null {
    // Received segments are disjoint, so the one with the greatest start also has the greatest end: both
    // frontiers are one step down the (pad_id, start) key, not a scan of every segment.
    const sql =
      senderSide === 'A'
        ? 'SELECT end AS f FROM received WHERE pad_id = ? ORDER BY start DESC LIMIT 1'
        : 'SELECT start AS f FROM received WHERE pad_id = ? ORDER BY start ASC LIMIT 1';
    const row = this.stmt(sql).get(id(padId)) as { f: number } | undefined;
    return row ? row.f : null;
  }

  /** Every received segment of a pad, in order. */
  received(padId: string): ByteRange[] {
    return this.stmt('SELECT start, end FROM received WHERE pad_id = ? ORDER BY start').all(id(padId)) as ByteRange[];
  }

  /**
   * Record a verified received message (its key slot and stream range) and, when burning, queue both ranges for
   * burning, in one durable transaction. `check` runs inside the transaction first, so a concurrent duplicate
   * cannot slip in between check and write (and the unique index on (pad, slot) would refuse it anyway).
   */
  recordReceived(
    padId: string,
    slot: number,
    key: ByteRange,
    stream: ByteRange,
    burn: boolean,
    check: () => void,
  ): void {
    this.write(() => {
      check();
      this.stmt('INSERT INTO received (pad_id, start, end, slot) VALUES (?, ?, ?, ?)').run(
        id(padId),
        stream.start,
        stream.end,
        slot,
      );
      if (burn) {
        this.queueBurn(padId, key);
        this.queueBurn(padId, stream);
      }
    });
  }

  /** Every segment queued for burning. */
  burnQueue(): BurnEntry[] {
    return (
      this.stmt('SELECT pad_id, start, end FROM burn_queue ORDER BY pad_id, start').all() as {
        pad_id: Buffer;
        start: number;
        end: number;
      }[]
    ).map((r) => ({ padId: r.pad_id.toString('hex'), start: r.start, end: r.end }));
  }

  /**
   * Note that a queued segment is burned and synced. Its row is deleted with the next transaction rather than in
   * one of its own: an extra sync on the critical path buys nothing, because burning is idempotent and start-up
   * recovery burns whatever is still queued.
   */
  markBurned(entry: BurnEntry): void {
    this.burnedPending.push(entry);
  }

  /** Delete the rows of burned segments now (used at recovery and close). */
  flushBurned(): void {
    if (this.burnedPending.length > 0) this.write(() => {});
  }

  /** Close the database, flushing burned-segment rows first. */
  close(): void {
    if (!this.db.open) return;
    try {
      this.flushBurned();
    } finally {
      this.db.close();
    }
  }

  private queueBurn(padId: string, segment: ByteRange): void {
    this.stmt('INSERT INTO burn_queue (pad_id, start, end) VALUES (?, ?, ?)').run(
      id(padId),
      segment.start,
      segment.end,
    );
  }

  /** Run `fn` in one immediate transaction, together with deleting rows of already burned segments. */
  private write(fn: () => void): void {
    const pending = this.burnedPending;
    this.transact.immediate(pending, fn);
    this.burnedPending = this.burnedPending.slice(pending.length);
  }
}
