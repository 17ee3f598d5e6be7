/**
 * The pad engine: packages and unpackages messages with the pads in a data dir, wire format v2 (docs/PROTOCOL.md).
 *
 * Send path (package): validate → look up the contact's active pad → check it fits (a key slot and L stream bytes
 * left) → ask the user (Confirmer) → reserve message index i and its stream range durably (one fsynced
 * transaction: cursor, send index, burn queue) → read key slot i and the stream range → refuse burned bytes
 * (PAD_BURNED) → build the package → burn both ranges (overwrite + one fdatasync) → reply. A crash after the
 * reservation wastes the message's pad bytes; they are never reused, and start-up burns them.
 *
 * Receive path (unpackage): parse → find the pad → check side, index (a key slot of the peer's key area, not yet
 * received), stream range (inside the peer's stream area, not yet received) → read key slot and stream, refuse
 * burned bytes → verify the tag (constant time) → [ask the user, if confirm-decrypt is on] → record slot and range
 * durably → burn both → decrypt and reply. Nothing is written to the ledger before the tag verifies.
 *
 * The engine holds the data dir's ledger with SQLite's exclusive lock for its whole life (device/ledger/open.ts):
 * a second engine, in this process or another, gets DATA_DIR_BUSY and touches nothing. Parts hosted in the same
 * process (pool filler, pairing, the home screen) use the engine's own {@link DeviceEngine.ledger}.
 *
 * Critical sections (from the reservation to the reply) are synchronous, so two requests never interleave
 * inside one; only the wait for the user is asynchronous, and state is re-checked after it.
 */
import { closeSync } from 'node:fs';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { Config } from './config/config.js';
import type { ConfirmDecision, Confirmer } from './confirm.js';
import { type DataDirLayout, prepareDataDir } from './data-dir.js';
import type { ByteRange, PackageResult, PadInfo, PadRemaining, UnpackageResult } from './engine-types.js';
import { OnepadError } from './errors.js';
import { EventLog } from './events.js';
import { keySlot, sideAreas } from './layout.js';
import { Ledger, type PadRow, sendRoom } from './ledger/ledger.js';
import { type BurnProgress, burnAbandoned, listBurning } from './pad-burner.js';
import {
  abandonPadFile,
  containsZeroBlock,
  listPadFiles,
  openPadFile,
  overwriteRange,
  padFilePath,
  readSegment,
  syncData,
} from './pad-file.js';
import { checkGap, classify, contains, otherSide } from './ranges.js';
import {
  encodePackage,
  MAC_KEY_LENGTH,
  PACKAGE_OVERHEAD,
  type ParsedPackage,
  parsePackage,
  segmentCost,
  verifyAndDecrypt,
  WIRE_VERSION,
} from './wire.js';

/** Named points in the send and receive paths where a test can make the process die. */
export const CRASH_POINTS = [
  'after-reserve',
  'after-read',
  'after-burn',
  'before-reply',
  'recv-after-verify',
  'recv-after-commit',
  'recv-after-burn',
  'recv-before-reply',
] as const;
export type CrashPoint = (typeof CRASH_POINTS)[number];

/** Shows a received plaintext on the device's own screen (private receive). */
export interface PrivateDisplay {
  showReceived(msg: { contact: string; plaintext: Uint8Array; insecure: boolean }): void;
}

/** What the engine is built from. */
export interface EngineDeps {
  readonly config: Config;
  readonly confirmer: Confirmer;
  /** Needed when `confirm.privateReceive` is on. */
  readonly privateDisplay?: PrivateDisplay;
  /** Called at each crash point; tests kill the process there. */
  readonly crashHook?: (point: CrashPoint) => void;
  /** Progress of the background burn of abandoned pad files (for the screen). */
  readonly onBurnProgress?: (p: BurnProgress) => void;
  readonly now?: () => number;
}

const CONTACT_RE = /^[A-Za-z0-9][A-Za-z0-9 ._@-]{0,63}$/;

/** True when `name` is a valid contact name: 1-64 letters, digits, space or . _ @ -, starting alphanumeric. */
export function isValidContactName(name: unknown): name is string {
  return typeof name === 'string' && CONTACT_RE.test(name);
}

/** A short fingerprint of a message, shown on the device and computable by the laptop: 4 groups of 4 hex. */
export function messageFingerprint(plaintext: Uint8Array): string {
  const h = bytesToHex(sha256(plaintext).subarray(0, 8));
  return `${h.slice(0, 4)} ${h.slice(4, 8)} ${h.slice(8, 12)} ${h.slice(12, 16)}`;
}

function decisionError(d: ConfirmDecision): OnepadError | null {
  if (d === 'approved') return null;
  if (d === 'denied') return new OnepadError('DENIED');
  if (d === 'busy') return new OnepadError('BUSY');
  return new OnepadError('CONFIRM_TIMEOUT');
}

/** Figures of a pad row: what this side can still send (key slots and stream), for messages of about `typical`. */
export function figuresOf(pad: PadRow, typical: number): PadRemaining {
  const { keySlotsLeft, streamLeft } = sendRoom(pad);
  return figures(keySlotsLeft, streamLeft, typical);
}

function figures(keySlotsLeft: number, streamLeft: number, typical: number): PadRemaining {
  const usable = keySlotsLeft > 0 && streamLeft > 0;
  return {
    remaining: usable ? streamLeft + MAC_KEY_LENGTH * keySlotsLeft : 0,
    maxMessageLength: usable ? streamLeft : 0,
    messagesLeft: usable ? Math.min(keySlotsLeft, Math.floor(streamLeft / typical)) : 0,
    keySlotsLeft,
    streamLeft,
  };
}

/** What {@link DeviceEngine.admit} found a package to claim, checked against the ledger. */
interface Admitted {
  readonly pad: PadRow;
  readonly parsed: ParsedPackage;
  readonly key: ByteRange;
  readonly stream: ByteRange;
}

/** The device's pad engine. */
export class DeviceEngine {
  readonly layout: DataDirLayout;
  readonly events: EventLog;
  /**
   * The data dir's ledger, held with the exclusive lock for the engine's life. Parts of the same process that need
   * the ledger (the entropy pool, pairing, the home screen) use this one: opening it again would be DATA_DIR_BUSY.
   */
  readonly ledger: Ledger;
  private readonly deps: EngineDeps;
  private readonly fds = new Map<string, number>();
  private readonly shutdown = new AbortController();
  private closed = false;
  private burning: Promise<void> | null = null;
  private burnState: BurnProgress | null = null;

  private constructor(deps: EngineDeps, layout: DataDirLayout, ledger: Ledger, events: EventLog) {
    this.deps = deps;
    this.layout = layout;
    this.ledger = ledger;
    this.events = events;
  }

  /**
   * Open the data dir (creating it with mode 0700), take the ledger's exclusive lock, migrate the ledger, and
   * recover from an interrupted run: burn every range still queued for burning, and abandon pad files the ledger
   * does not know (renamed, never usable; burned at once when small, else in the background by
   * {@link startBurning}, so opening takes the same time whatever the pads' sizes). Nothing is read or written
   * before the lock is held.
   *
   * @throws OnepadError DATA_DIR_BUSY (another engine or process holds the data dir), DATA_DIR_UNSAFE,
   *   LEDGER_SCHEMA_TOO_NEW, CONFIG_INVALID (private receive without a display)
   */
  static open(deps: EngineDeps): DeviceEngine {
    if (deps.config.confirm.privateReceive && !deps.privateDisplay) {
      throw new OnepadError(
        'CONFIG_INVALID',
        { field: 'confirm.privateReceive' },
        'private receive needs the device screen',
      );
    }
    const layout = prepareDataDir(deps.config.dataDir);
    const ledger = Ledger.open(layout.ledger);
    let events: EventLog;
    try {
      events = new EventLog(layout.events, deps.config.engine.eventLogMax, deps.now);
    } catch (e) {
      ledger.close();
      throw e;
    }
    const engine = new DeviceEngine(deps, layout, ledger, events);
    try {
      engine.recover();
    } catch (e) {
      engine.close();
      throw e;
    }
    engine.startBurning();
    return engine;
  }

  /**
   * Encrypt and authenticate `plaintext` for `contact`, after the user approved it on the device.
   *
   * @param signal - aborts the wait for the user (the request is then denied as CONFIRM_TIMEOUT)
   * @throws OnepadError INVALID_ARGUMENT, MESSAGE_TOO_LONG, UNKNOWN_CONTACT, PAD_EXHAUSTED, UNSUPPORTED_VERSION
   *   (a v1 pad), DENIED, CONFIRM_TIMEOUT, BUSY, PAD_BURNED (nothing sent), PAD_FILE_INVALID, STORAGE_FAILED,
   *   SHUTTING_DOWN
   */
  async package(contact: string, plaintext: Uint8Array, signal?: AbortSignal): Promise<PackageResult> {
    this.assertOpen();
    if (!isValidContactName(contact)) {
      throw new OnepadError(
        'INVALID_ARGUMENT',
        { argument: 'contact' },
        'contact must be 1-64 letters, digits or . _ @ - space',
      );
    }
    if (!(plaintext instanceof Uint8Array)) {
      throw new OnepadError('INVALID_ARGUMENT', { argument: 'plaintext' }, 'plaintext must be bytes');
    }
    if (plaintext.length === 0) {
      throw new OnepadError('INVALID_ARGUMENT', { argument: 'plaintext' }, 'plaintext must not be empty');
    }
    const max = this.deps.config.engine.maxMessageLength;
    if (plaintext.length > max) throw new OnepadError('MESSAGE_TOO_LONG', { length: plaintext.length, max });

    const L = plaintext.length;
    const before = this.sendablePad(contact, L);
    const cost = segmentCost(L);
    const room = sendRoom(before);
    const after = figures(room.keySlotsLeft - 1, room.streamLeft - L, this.typical());
    const decision = await this.ask(
      {
        kind: 'encrypt',
        contact,
        plaintext,
        cost,
        remainingAfter: after.remaining,
        messagesLeftAfter: after.messagesLeft,
        fingerprint: messageFingerprint(plaintext),
        insecure: before.insecure,
      },
      signal,
    );
    const refusal = decisionError(decision);
    if (refusal) throw refusal;
    this.assertOpen();

    // From here to the return, nothing awaits: the reservation, the read, the burn and the reply are one step.
    const pad = this.sendablePad(contact, L);
    const fd = this.fd(pad);
    const burn = this.deps.config.engine.burn;
    // Reads the row and moves cursor and index in one immediate transaction: a coded error if it lost a race.
    const r = this.ledger.reserveSend(pad.padId, L, burn);
    this.crash('after-reserve');
    const key = readSegment(fd, r.key.start, MAC_KEY_LENGTH);
    const stream = readSegment(fd, r.stream.start, L);
    let pkg: Uint8Array;
    try {
      this.crash('after-read');
      this.refuseBurned(pad.padId, 'send', r.index, key, stream);
      pkg = encodePackage(pad.side, Buffer.from(pad.padId, 'hex'), r.index, r.stream.start, plaintext, key, stream);
    } finally {
      key.fill(0);
      stream.fill(0);
    }
    if (burn) this.burn(fd, pad.padId, [r.key, r.stream]);
    this.crash('after-burn');
    const left = figuresOf(r.after, this.typical());
    this.noteRemaining(pad, left.remaining);
    this.crash('before-reply');
    return {
      package: pkg,
      contact,
      padId: pad.padId,
      cost,
      insecure: pad.insecure,
      ...left,
    };
  }

  /**
   * Authenticate and decrypt a package from a contact.
   *
   * @throws OnepadError MALFORMED, MESSAGE_TOO_LONG, UNSUPPORTED_VERSION, UNKNOWN_PAD, REFLECTION, REPLAY,
   *   OVERLAP, PAD_BURNED, MAC_INVALID, DENIED / CONFIRM_TIMEOUT / BUSY (confirm-decrypt), PAD_FILE_INVALID,
   *   STORAGE_FAILED, SHUTTING_DOWN
   */
  async unpackage(bytes: Uint8Array, signal?: AbortSignal): Promise<UnpackageResult> {
    this.assertOpen();
    const { pad, parsed, key, stream } = this.admit(bytes);
    const fd = this.fd(pad);
    const keyBytes = readSegment(fd, key.start, MAC_KEY_LENGTH);
    const streamBytes = readSegment(fd, stream.start, parsed.length);
    let plaintext: Uint8Array;
    try {
      this.refuseBurned(pad.padId, 'receive', parsed.index, keyBytes, streamBytes);
      plaintext = verifyAndDecrypt(parsed, keyBytes, streamBytes);
    } catch (e) {
      if (e instanceof OnepadError && e.code === 'MAC_INVALID') {
        this.events.record('MAC_FAILURE', pad.padId, {
          index: parsed.index,
          start: stream.start,
          length: parsed.length,
        });
      }
      throw e;
    } finally {
      keyBytes.fill(0);
      streamBytes.fill(0);
    }
    try {
      this.crash('recv-after-verify');
      if (this.deps.config.confirm.confirmDecrypt) {
        const decision = await this.ask(
          { kind: 'decrypt', contact: pad.contact, length: parsed.length, insecure: pad.insecure },
          signal,
        );
        const refusal = decisionError(decision);
        if (refusal) throw refusal;
        this.assertOpen();
      }
      // Synchronous from here to the reply.
      const burn = this.deps.config.engine.burn;
      const peer = otherSide(pad.side);
      let gapCheck = { gap: null as ByteRange | null, late: false };
      this.ledger.recordReceived(pad.padId, parsed.index, key, stream, burn, () => {
        this.checkNotReceived(pad.padId, parsed.index, stream);
        const area = sideAreas(pad, peer).stream;
        const frontier = this.ledger.receivedFrontier(pad.padId, peer) ?? (peer === 'A' ? area.start : area.end);
        gapCheck = checkGap(peer, frontier, stream);
      });
      this.crash('recv-after-commit');
      if (burn) this.burn(fd, pad.padId, [key, stream]);
      this.crash('recv-after-burn');
      if (gapCheck.gap) {
        this.events.record('GAP', pad.padId, { start: gapCheck.gap.start, end: gapCheck.gap.end });
      }
      let returned: Uint8Array | null = plaintext;
      if (this.deps.config.confirm.privateReceive && this.deps.privateDisplay) {
        this.deps.privateDisplay.showReceived({ contact: pad.contact, plaintext, insecure: pad.insecure });
        plaintext.fill(0);
        returned = null;
      }
      this.crash('recv-before-reply');
      return {
        contact: pad.contact,
        padId: pad.padId,
        plaintext: returned,
        length: parsed.length,
        gaps: gapCheck.gap ? [gapCheck.gap] : [],
        late: gapCheck.late,
        insecure: pad.insecure,
        ...figuresOf(this.ledger.pad(pad.padId) ?? pad, this.typical()),
      };
    } catch (e) {
      plaintext.fill(0);
      throw e;
    }
  }

  /** Every pad in the ledger with what is left of it (no pad bytes). */
  pads(): PadInfo[] {
    this.assertOpen();
    return this.ledger.pads().map((p) => ({ ...p, ...figuresOf(p, this.typical()) }));
  }

  /**
   * Burn the data dir's abandoned pad files in the background (device/pad-burner.ts), if there are any and no
   * burn is running. Started at open; call again after abandoning a file. Stops at close, resumable.
   */
  startBurning(): void {
    if (this.closed || this.burning || listBurning(this.layout.pads).length === 0) return;
    this.burning = burnAbandoned(this.layout.pads, {
      signal: this.shutdown.signal,
      onProgress: (p) => {
        this.burnState = p;
        this.deps.onBurnProgress?.(p);
      },
    }).then(
      (r) => {
        this.burning = null;
        if (r.complete) this.burnState = null;
      },
      (e: unknown) => {
        this.burning = null;
        if (!this.closed) {
          this.events.record('CRASH_RECOVERY', null, { burnFailed: (e as { code?: string }).code ?? 'failed' });
        }
      },
    );
  }

  /** The background burn's progress, or null when nothing is being burned. */
  burnProgress(): BurnProgress | null {
    return this.burnState;
  }

  /** Settles when the background burn has ended: done, stopped by close, or failed. */
  async burnSettled(): Promise<void> {
    await this.burning;
  }

  /** Received stream ranges of a pad, for inspection and tests. */
  received(padId: string): ByteRange[] {
    return this.ledger.received(padId);
  }

  /**
   * Stop: abort waits for the user, flush burned-range rows, close files and databases (which drops the data
   * dir's lock). Critical sections are synchronous, so a committed reservation is never interrupted by close.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.shutdown.abort();
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
    this.ledger.close();
    this.events.close();
  }

  // --- internals ---------------------------------------------------------------------------------

  /**
   * Checks that run before any pad byte is read: size, structure, pad, side, index in the peer's key area, stream
   * range in the peer's stream area, replay and overlap.
   */
  private admit(bytes: Uint8Array): Admitted {
    const max = this.deps.config.engine.maxMessageLength;
    if (bytes instanceof Uint8Array && bytes.length > max + PACKAGE_OVERHEAD) {
      this.events.record('MALFORMED', null, { code: 'MESSAGE_TOO_LONG' });
      throw new OnepadError('MESSAGE_TOO_LONG', { length: bytes.length - PACKAGE_OVERHEAD, max });
    }
    let parsed: ParsedPackage;
    try {
      parsed = parsePackage(bytes);
    } catch (e) {
      if (e instanceof OnepadError) this.events.record('MALFORMED', null, { code: e.code });
      throw e;
    }
    const padId = bytesToHex(parsed.padId);
    const pad = this.ledger.pad(padId);
    if (!pad || pad.state === 'retired') {
      this.events.record('UNKNOWN_PAD', null, {});
      throw new OnepadError('UNKNOWN_PAD');
    }
    if (pad.wireVersion !== WIRE_VERSION) {
      this.events.record('MALFORMED', padId, { code: 'UNSUPPORTED_VERSION' });
      throw new OnepadError('UNSUPPORTED_VERSION', { version: pad.wireVersion }, 'this pad was made for wire v1');
    }
    const peer = otherSide(pad.side);
    if (parsed.side !== peer) {
      this.events.record('REFLECTION', padId, { index: parsed.index, length: parsed.length });
      throw new OnepadError('REFLECTION');
    }
    const areas = sideAreas(pad, peer);
    if (parsed.index >= areas.slots) {
      this.events.record('MALFORMED', padId, { code: 'MALFORMED', reason: 'index' });
      throw new OnepadError('MALFORMED', { reason: 'index beyond key area' }, 'index beyond the key area');
    }
    const stream: ByteRange = { start: parsed.streamStart, end: parsed.streamStart + parsed.length };
    if (!contains(areas.stream, stream)) {
      this.events.record('MALFORMED', padId, { code: 'MALFORMED', reason: 'stream' });
      throw new OnepadError('MALFORMED', { reason: 'stream outside stream area' }, 'stream outside the stream area');
    }
    this.checkNotReceived(padId, parsed.index, stream);
    return { pad, parsed, key: keySlot(areas, parsed.index), stream };
  }

  /** @throws OnepadError REPLAY when the key slot was received, OVERLAP when the stream range meets one received */
  private checkNotReceived(padId: string, index: number, stream: ByteRange): void {
    const slot = this.ledger.receivedSlot(padId, index);
    if (slot) {
      this.events.record('REPLAY', padId, { index, start: stream.start, end: stream.end });
      throw new OnepadError('REPLAY');
    }
    if (classify(stream, this.ledger.nearestReceived(padId, stream.end)) !== 'new') {
      this.events.record('OVERLAP', padId, { index, start: stream.start, end: stream.end });
      throw new OnepadError('OVERLAP');
    }
  }

  /**
   * Refuse pad bytes that were already burned: an all-zero 16-byte block in the key slot or the stream range
   * means the ledger is behind the pad file (a restored backup, a lost flush). Raises a PAD_BURNED event.
   * @throws OnepadError PAD_BURNED
   */
  private refuseBurned(padId: string, path: 'send' | 'receive', index: number, key: Uint8Array, stream: Uint8Array) {
    if (containsZeroBlock(key) || containsZeroBlock(stream)) {
      this.events.record('PAD_BURNED', padId, { path, index, length: stream.length });
      throw new OnepadError('PAD_BURNED', { index });
    }
  }

  /**
   * The contact's active pad, checked to fit a message of `length`.
   * @throws OnepadError UNKNOWN_CONTACT, UNSUPPORTED_VERSION (a v1 pad) or PAD_EXHAUSTED
   */
  private sendablePad(contact: string, length: number): PadRow {
    const pad = this.ledger.activePad(contact) ?? this.ledger.exhaustedPad(contact);
    if (!pad) throw new OnepadError('UNKNOWN_CONTACT', { contact });
    if (pad.wireVersion !== WIRE_VERSION) {
      throw new OnepadError('UNSUPPORTED_VERSION', { version: pad.wireVersion }, 'this pad was made for wire v1');
    }
    const f = figuresOf(pad, this.typical());
    if (pad.state !== 'active' || f.keySlotsLeft < 1 || f.streamLeft < length) {
      const needed = segmentCost(length);
      this.events.record('EXHAUSTED', pad.padId, {
        remaining: f.remaining,
        needed,
        keySlotsLeft: f.keySlotsLeft,
        streamLeft: f.streamLeft,
      });
      throw new OnepadError('PAD_EXHAUSTED', {
        remaining: f.remaining,
        needed,
        maxMessageLength: f.maxMessageLength,
        keySlotsLeft: f.keySlotsLeft,
      });
    }
    return pad;
  }

  private typical(): number {
    return this.deps.config.engine.typicalMessageLength;
  }

  private noteRemaining(before: PadRow, remaining: number): void {
    const threshold = this.deps.config.engine.lowPadWarningBytes;
    if (remaining < threshold && figuresOf(before, this.typical()).remaining >= threshold) {
      this.events.record('LOW_PAD', before.padId, { remaining });
    }
  }

  private async ask(req: Parameters<Confirmer['confirm']>[0], signal?: AbortSignal): Promise<ConfirmDecision> {
    const combined = signal ? AbortSignal.any([signal, this.shutdown.signal]) : this.shutdown.signal;
    return this.deps.confirmer.confirm(req, combined);
  }

  /** Overwrite used ranges and fdatasync once; their queue rows go with the next transaction. */
  private burn(fd: number, padId: string, ranges: readonly ByteRange[]): void {
    for (const r of ranges) overwriteRange(fd, r.start, r.end);
    syncData(fd);
    for (const r of ranges) this.ledger.markBurned({ padId, ...r });
  }

  private fd(pad: PadRow): number {
    let fd = this.fds.get(pad.padId);
    if (fd === undefined) {
      fd = openPadFile(padFilePath(this.layout.pads, pad.padId), pad.size);
      this.fds.set(pad.padId, fd);
    }
    return fd;
  }

  private crash(point: CrashPoint): void {
    this.deps.crashHook?.(point);
  }

  private assertOpen(): void {
    if (this.closed) throw new OnepadError('SHUTTING_DOWN');
  }

  /** Start-up recovery: burn queued ranges; abandon pad files without a ledger row. */
  private recover(): void {
    const queued = this.ledger.burnQueue();
    const touched = new Set<string>();
    for (const entry of queued) {
      const pad = this.ledger.pad(entry.padId);
      if (!pad) continue;
      const fd = this.fd(pad);
      overwriteRange(fd, entry.start, entry.end);
      touched.add(entry.padId);
    }
    for (const padId of touched) syncData(this.fds.get(padId) as number);
    for (const entry of queued) this.ledger.markBurned(entry);
    this.ledger.flushBurned();

    const known = new Set(this.ledger.pads().map((p) => p.padId));
    const files = listPadFiles(this.layout.pads);
    const orphans = files.ids.filter((f) => !known.has(f));
    // Abandon them (one rename each: unusable at once); big ones are burned in the background, after open.
    for (const o of orphans) abandonPadFile(padFilePath(this.layout.pads, o));
    for (const t of files.temporary) abandonPadFile(`${this.layout.pads}/${t}`);
    if (queued.length > 0 || orphans.length > 0 || files.temporary.length > 0) {
      this.events.record('CRASH_RECOVERY', null, {
        burnedSegments: queued.length,
        orphanPads: orphans.length,
        partialPads: files.temporary.length,
      });
    }
  }
}
