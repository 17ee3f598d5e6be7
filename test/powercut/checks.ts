/**
 * The host's side of the power-cut test: everything that ever left the guest, and the checks run after each boot
 * against the checker's report (see ./records.ts). Each check has a stable id, counts what it checked and keeps
 * the first few violations as text (offsets and ids only, never pad bytes or plaintext).
 *
 * The peer is a real DeviceEngine on the host (its data dir is on the host's disk, never cut): every captured
 * package must unpackage there exactly once.
 */
import { createHash } from 'node:crypto';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import type { ByteRange } from '../../device/engine-types.js';
import { OnepadError } from '../../device/errors.js';
import type { PadLayout } from '../../device/layout.js';
import { type PackageFacts, padRangesOf } from './format.js';
import type { CheckRecord, GuestRecord } from './records.js';

/** The ids of the checks, in report order. */
export const CHECK_IDS = [
  'guest-started',
  'ledger-opens',
  'slots-disjoint',
  'reserved-before-left',
  'decrypts-once',
  'no-cleartext',
  'no-zero-tag',
  'pool-once',
  'pool-durable',
  'receive-once',
  'receive-durable',
  'install-atomic',
  'burned-on-medium',
] as const;
export type CheckId = (typeof CHECK_IDS)[number];

/** What one check found. */
export interface CheckTally {
  checked: number;
  failed: number;
  examples: string[];
}

/** The plaintext marker the guest puts at the start of every message it packages. */
export const MARKER = 'ONEPAD-POWERCUT-CLEARTEXT';
const MARKER_BYTES = new TextEncoder().encode(MARKER);

/** The peer's side: what the host needs to unpackage the guest's packages. */
export interface Peer {
  /** Unpackage on the peer; resolves to the plaintext, rejects with the engine's error. */
  unpackage(pkg: Uint8Array): Promise<Uint8Array>;
}

/** A package the host's peer sent to the guest. */
export interface Outgoing {
  readonly id: number;
  readonly hex: string;
  readonly range: ByteRange;
  readonly sha: string;
}

/** Half-open ranges kept sorted and disjoint, with an overlap query. */
export class RangeSet {
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];

  /** The index of the first range whose end is after `start`. */
  private firstEndingAfter(start: number): number {
    let lo = 0;
    let hi = this.ends.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.ends[mid] as number) <= start) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** A stored range overlapping r, or null. */
  overlap(r: ByteRange): ByteRange | null {
    const i = this.firstEndingAfter(r.start);
    if (i < this.starts.length && (this.starts[i] as number) < r.end) {
      return { start: this.starts[i] as number, end: this.ends[i] as number };
    }
    return null;
  }

  /** Add r (the caller checked it does not overlap). */
  add(r: ByteRange): void {
    const i = this.firstEndingAfter(r.start);
    this.starts.splice(i, 0, r.start);
    this.ends.splice(i, 0, r.end);
  }

  /** The greatest end, or 0. */
  maxEnd(): number {
    return this.ends.length ? (this.ends[this.ends.length - 1] as number) : 0;
  }

  get size(): number {
    return this.starts.length;
  }
}

interface Install {
  readonly padId: string;
  readonly boot: number;
  drawHex: string | null;
  installed: boolean;
}

const sha256hex = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

function indexOfBytes(hay: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** Everything that left the guest so far, and the tallies of every check. */
export class History {
  readonly tallies = Object.fromEntries(
    CHECK_IDS.map((id) => [id, { checked: 0, failed: 0, examples: [] } as CheckTally]),
  ) as Record<CheckId, CheckTally>;
  /** Pad ranges used by captured packages, per pad id. */
  private readonly used = new Map<string, RangeSet>();
  /** The greatest end of a captured package's range on the main pad (side A counts up). */
  private maxSentEnd = 0;
  /** One past the greatest message index (key slot) of a captured package on the main pad. */
  private sentSlots = 0;
  private readonly plaintexts = new Set<string>();
  private readonly draws = new RangeSet();
  private readonly drawChunks = new Set<string>();
  private maxDrawEnd = 0;
  private readonly installs = new Map<string, Install>();
  private readonly acked = new Map<number, number>();
  packages = 0;
  receives = 0;

  constructor(
    private readonly peer: Peer,
    private readonly mainPad: string,
    private readonly outgoing: ReadonlyMap<number, Outgoing>,
    /** The v2 layout of a pad, as the ledgers record it (test/powercut/format.ts). */
    private readonly layoutOf: (padId: string) => PadLayout,
  ) {}

  private tally(id: CheckId, ok: boolean, what: string): void {
    const t = this.tallies[id];
    t.checked++;
    if (!ok) {
      t.failed++;
      if (t.examples.length < 5) t.examples.push(what);
    }
  }

  /** Violations so far, per check id (only those with any). */
  failures(): Partial<Record<CheckId, number>> {
    const out: Partial<Record<CheckId, number>> = {};
    for (const id of CHECK_IDS) if (this.tallies[id].failed > 0) out[id] = this.tallies[id].failed;
    return out;
  }

  /** The drawn bytes of pad installs begun before `check` whose pad it says is absent (for the disk scan). */
  absentDraws(check: CheckRecord): Uint8Array[] {
    const present = new Set(check.pads.map((p) => p.padId));
    const out: Uint8Array[] = [];
    // Only installs begun before this check: one begun after it, in the same boot, is not in its report.
    for (const i of this.installs.values()) {
      if (i.boot < check.boot && i.drawHex && !present.has(i.padId)) out.push(hexToBytes(i.drawHex));
    }
    return out;
  }

  /** Run every check that compares a checker's report with what left before it. */
  checkReport(c: CheckRecord): void {
    this.tally('guest-started', true, '');
    const opens = c.ok && c.integrity === 'ok' && c.burnQueue === 0;
    this.tally(
      'ledger-opens',
      opens,
      `boot ${c.boot}: ${c.ok ? `integrity=${c.integrity} burnQueue=${c.burnQueue}` : c.error}`,
    );
    if (!c.ok) return;
    const main = c.pads.find((p) => p.padId === this.mainPad);
    // The reservation is durable before anything derived from it leaves: the cursor covers every range sent.
    this.tally(
      'reserved-before-left',
      main !== undefined && main.cursor >= this.maxSentEnd && main.sendIndex >= this.sentSlots,
      `boot ${c.boot}: cursor ${main?.cursor} / send index ${main?.sendIndex} below the end ${this.maxSentEnd} / slot ${this.sentSlots} of a package that left`,
    );
    this.tally(
      'pool-durable',
      c.pool.consumed >= this.maxDrawEnd && c.pool.burned === c.pool.consumed,
      `boot ${c.boot}: consumed ${c.pool.consumed} burned ${c.pool.burned}, a draw that left ends at ${this.maxDrawEnd}`,
    );
    const received = new RangeSet();
    for (const [s, e] of c.received) received.add({ start: s, end: e });
    for (const [id, n] of this.acked) {
      if (n < 1) continue;
      const o = this.outgoing.get(id);
      if (!o) continue;
      const r = received.overlap(o.range);
      this.tally(
        'receive-durable',
        r !== null && r.start === o.range.start && r.end === o.range.end,
        `boot ${c.boot}: package ${id} was unpackaged and its plaintext left, but its range is not in the ledger`,
      );
    }
    const byId = new Map(c.pads.map((p) => [p.padId, p]));
    for (const i of this.installs.values()) {
      const p = byId.get(i.padId);
      const file = `${i.padId}.pad`;
      let ok: boolean;
      let why: string;
      if (p) {
        ok =
          p.state === 'active' &&
          p.fileSize === p.size &&
          (i.drawHex === null || p.sha === sha256hex(hexToBytes(i.drawHex)));
        why = `pad ${i.padId.slice(0, 8)} in the ledger but state=${p.state} file=${p.fileSize} content ${i.drawHex === null ? 'unknown' : p.sha === sha256hex(hexToBytes(i.drawHex)) ? 'same' : 'differs'}`;
      } else {
        ok = !c.after.pads.includes(file);
        why = `pad ${i.padId.slice(0, 8)} absent from the ledger but its file is still there`;
      }
      if (i.installed && !p) {
        ok = false;
        why = `pad ${i.padId.slice(0, 8)} was reported installed but is gone`;
      }
      this.tally('install-atomic', ok, `boot ${c.boot}: ${why}`);
    }
    this.tally(
      'install-atomic',
      c.after.tmp.length === 0 && c.after.pads.every((f) => byId.has(f.slice(0, 32))),
      `boot ${c.boot}: after recovery pads/ holds ${c.after.tmp.length} temporary and ${c.after.pads.filter((f) => !byId.has(f.slice(0, 32))).length} orphan files`,
    );
  }

  /** Take in what left during one boot, checking each item as it comes. */
  async capture(boot: number, records: readonly GuestRecord[]): Promise<void> {
    for (const r of records) {
      if (r.t === 'pkg') await this.onPackage(boot, hexToBytes(r.hex));
      else if (r.t === 'recv') this.onReceive(boot, r.id, r.ok, r.sha);
      else if (r.t === 'install') this.installs.set(r.padId, { padId: r.padId, boot, drawHex: null, installed: false });
      else if (r.t === 'draw') this.onDraw(boot, r.padId, r.start, r.hex);
      else if (r.t === 'installed') {
        const i = this.installs.get(r.padId);
        if (i) i.installed = true;
      }
    }
  }

  private async onPackage(boot: number, pkg: Uint8Array): Promise<void> {
    this.packages++;
    let facts: PackageFacts;
    try {
      facts = padRangesOf(pkg, this.layoutOf);
    } catch (e) {
      this.tally('decrypts-once', false, `boot ${boot}: package does not parse (${(e as OnepadError).code})`);
      return;
    }
    // Pad byte ranges: disjoint from every range of every earlier package on the same pad.
    let set = this.used.get(facts.padId);
    if (!set) {
      set = new RangeSet();
      this.used.set(facts.padId, set);
    }
    const clashes: string[] = [];
    for (const u of facts.uses) {
      const o = set.overlap(u);
      if (o) clashes.push(`${u.kind} [${u.start}, ${u.end}) meets [${o.start}, ${o.end})`);
    }
    this.tally('slots-disjoint', clashes.length === 0, `boot ${boot}: ${clashes.join(', ')} of an earlier package`);
    for (const u of facts.uses) if (!set.overlap(u)) set.add(u);
    if (facts.padId === this.mainPad) {
      for (const u of facts.uses) this.maxSentEnd = Math.max(this.maxSentEnd, u.end);
      this.sentSlots = Math.max(this.sentSlots, facts.index + 1);
    }
    this.tally(
      'no-zero-tag',
      facts.tag.some((b) => b !== 0),
      `boot ${boot}: all-zero tag`,
    );
    const markerAt = indexOfBytes(pkg, MARKER_BYTES);
    // Decrypt on the peer, then once more: the second must be refused as a replay.
    let plaintext: Uint8Array | null = null;
    try {
      plaintext = await this.peer.unpackage(pkg);
    } catch (e) {
      this.tally(
        'decrypts-once',
        false,
        `boot ${boot}: peer refused a package that left: ${e instanceof OnepadError ? e.code : String(e)}`,
      );
    }
    let clear = markerAt < 0;
    if (plaintext) {
      let same = 0;
      for (let i = 0; i < plaintext.length; i++) if (plaintext[i] === facts.ciphertext[i]) same++;
      clear = clear && same <= plaintext.length / 16 + 4;
      const text = new TextDecoder().decode(plaintext);
      const m = /^ONEPAD-POWERCUT-CLEARTEXT boot=(\d+) seq=(\d+) /.exec(text);
      const key = m ? `${m[1]}/${m[2]}` : null;
      let again = 'accepted';
      try {
        await this.peer.unpackage(pkg);
      } catch (e) {
        again = e instanceof OnepadError ? e.code : String(e);
      }
      const ok = key !== null && !this.plaintexts.has(key) && again === 'REPLAY';
      this.tally(
        'decrypts-once',
        ok,
        `boot ${boot}: ${key === null ? 'plaintext is not the guest message' : this.plaintexts.has(key) ? `message ${key} decrypted twice` : `second unpackage: ${again}`}`,
      );
      if (key) this.plaintexts.add(key);
      plaintext.fill(0);
    }
    this.tally('no-cleartext', clear, `boot ${boot}: package carries clear text`);
  }

  private onReceive(boot: number, id: number, ok: boolean, sha: string | undefined): void {
    this.receives++;
    const o = this.outgoing.get(id);
    if (!ok) return;
    const n = (this.acked.get(id) ?? 0) + 1;
    this.acked.set(id, n);
    this.tally(
      'receive-once',
      n === 1 && o !== undefined && o.sha === sha,
      `boot ${boot}: package ${id} ${n > 1 ? `unpackaged ${n} times` : 'decrypted to other bytes'}`,
    );
  }

  private onDraw(boot: number, padId: string, start: number, hex: string): void {
    const i = this.installs.get(padId);
    if (i) i.drawHex = hex;
    const bytes = hexToBytes(hex);
    const r = { start, end: start + bytes.length };
    const o = this.draws.overlap(r);
    let ok = o === null && bytes.some((b) => b !== 0);
    let why = o ? `pool bytes [${r.start}, ${r.end}) meet [${o.start}, ${o.end}) handed out before` : 'all-zero draw';
    // The same bytes at another position would be a reuse too: compare 32-byte chunks at absolute positions.
    const first = Math.ceil(start / 32) * 32;
    for (let p = first; p + 32 <= r.end; p += 32) {
      const c = bytesToHex(bytes.subarray(p - start, p - start + 32));
      if (this.drawChunks.has(c)) {
        ok = false;
        why = `pool chunk at ${p} has the same bytes as a chunk handed out before`;
        break;
      }
      this.drawChunks.add(c);
    }
    this.tally('pool-once', ok, `boot ${boot}: ${why}`);
    if (!o) this.draws.add(r);
    this.maxDrawEnd = Math.max(this.maxDrawEnd, r.end);
  }

  /** The guest program stopped by itself before reporting a check (it crashed at start-up). */
  guestStopped(boot: number): void {
    this.tally('guest-started', false, `boot ${boot}: the guest program stopped before its check`);
  }

  /** Record the outcome of a scan of the data disk for bytes that must be gone. */
  scanResult(boot: number, needles: number, hits: readonly string[]): void {
    this.tally(
      'burned-on-medium',
      hits.length === 0,
      `boot ${boot}: ${hits.slice(0, 3).join('; ')} (${hits.length} of ${needles})`,
    );
  }
}
