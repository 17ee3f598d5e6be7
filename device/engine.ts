/**
 * The pad engine: packages and unpackages messages with the pads in a data dir.
 *
 * Send path (package): validate → look up the contact's active pad → check it fits → ask the user (Confirmer)
 * → reserve the segment durably (cursor advance + burn queue, one fsynced transaction) → read the segment →
 * build the package → burn the segment (overwrite + fdatasync) → reply. A crash after the reservation wastes the
 * segment; it is never reused, and start-up burns it.
 *
 * Receive path (unpackage): parse → find the pad → check side, region, replay and overlap → read the segment and
 * verify the tag (constant time) → [ask the user, if confirm-decrypt is on] → record the segment durably →
 * burn it → decrypt and reply. Nothing is written to the ledger before the tag verifies.
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
import { Ledger, type PadRow } from './ledger/ledger.js';
import { type BurnProgress, burnAbandoned, listBurning } from './pad-burner.js';
import {
  abandonPadFile,
  listPadFiles,
  openPadFile,
  overwriteRange,
  padFilePath,
  readSegment,
  syncData,
} from './pad-file.js';
import { checkGap, classify, contains, intersects, otherSide, regionOf } from './ranges.js';
import { encodePackage, parsePackage, SEGMENT_OVERHEAD, segmentCost, verifyAndDecrypt } from './wire.js';

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

/** The device's pad engine. */
export class DeviceEngine {
  readonly layout: DataDirLayout;
  readonly events: EventLog;
  private readonly ledger: Ledger;
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
   * Open the data dir (creating it with mode 0700), migrate the ledger, and recover from an interrupted run:
   * burn every segment still queued for burning, and abandon pad files the ledger does not know (renamed, never
   * usable; burned at once when small, else in the background by {@link startBurning}, so opening takes the same
   * time whatever the pads' sizes).
   *
   * @throws OnepadError DATA_DIR_UNSAFE, LEDGER_SCHEMA_TOO_NEW, CONFIG_INVALID (private receive without a display)
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
    const events = new EventLog(layout.events, deps.config.engine.eventLogMax, deps.now);
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
   * @throws OnepadError INVALID_ARGUMENT, MESSAGE_TOO_LONG, UNKNOWN_CONTACT, PAD_EXHAUSTED, DENIED,
   *   CONFIRM_TIMEOUT, BUSY, PAD_FILE_INVALID, STORAGE_FAILED, SHUTTING_DOWN
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

    const before = this.sendablePad(contact, plaintext.length);
    const cost = segmentCost(plaintext.length);
    const remainingAfter = this.remainingOf(before) - cost;
    const decision = await this.ask(
      {
        kind: 'encrypt',
        contact,
        plaintext,
        cost,
        remainingAfter,
        messagesLeftAfter: this.messagesLeft(remainingAfter),
        fingerprint: messageFingerprint(plaintext),
        insecure: before.insecure,
      },
      signal,
    );
    const refusal = decisionError(decision);
    if (refusal) throw refusal;
    this.assertOpen();

    // From here to the return, nothing awaits: the reservation, the read, the burn and the reply are one step.
    const pad = this.sendablePad(contact, plaintext.length);
    const start = pad.side === 'A' ? pad.cursor : pad.cursor - cost;
    const segment: ByteRange = { start, end: start + cost };
    const newCursor = pad.side === 'A' ? segment.end : segment.start;
    const remaining = this.remainingOf(pad) - cost;
    const fd = this.fd(pad);
    const burn = this.deps.config.engine.burn;
    this.ledger.reserveSend(pad.padId, pad.cursor, newCursor, segment, burn, remaining < SEGMENT_OVERHEAD + 1);
    this.crash('after-reserve');
    const bytes = readSegment(fd, segment.start, cost);
    let pkg: Uint8Array;
    try {
      this.crash('after-read');
      pkg = encodePackage(pad.side, Buffer.from(pad.padId, 'hex'), segment.start, plaintext, bytes);
    } finally {
      bytes.fill(0);
    }
    if (burn) this.burn(fd, pad.padId, segment);
    this.crash('after-burn');
    this.noteRemaining(pad, remaining);
    this.crash('before-reply');
    return {
      package: pkg,
      contact,
      padId: pad.padId,
      cost,
      insecure: pad.insecure,
      ...this.remainingFigures(remaining),
    };
  }

  /**
   * Authenticate and decrypt a package from a contact.
   *
   * @throws OnepadError MALFORMED, UNSUPPORTED_VERSION, UNKNOWN_PAD, REFLECTION, REPLAY, OVERLAP, MAC_INVALID,
   *   DENIED / CONFIRM_TIMEOUT / BUSY (confirm-decrypt), PAD_FILE_INVALID, STORAGE_FAILED, SHUTTING_DOWN
   */
  async unpackage(bytes: Uint8Array, signal?: AbortSignal): Promise<UnpackageResult> {
    this.assertOpen();
    const { pad, parsed, segment } = this.admit(bytes);
    const fd = this.fd(pad);
    const seg = readSegment(fd, segment.start, segment.end - segment.start);
    let plaintext: Uint8Array;
    try {
      plaintext = verifyAndDecrypt(parsed, seg);
    } catch (e) {
      if (e instanceof OnepadError && e.code === 'MAC_INVALID') {
        this.events.record('MAC_FAILURE', pad.padId, { start: segment.start, length: parsed.length });
      }
      throw e;
    } finally {
      seg.fill(0);
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
      this.ledger.recordReceived(pad.padId, segment, burn, () => {
        this.checkNotReceived(pad.padId, segment);
        const region = regionOf(peer, pad.size, pad.split);
        const frontier = this.ledger.receivedFrontier(pad.padId, peer) ?? (peer === 'A' ? region.start : region.end);
        gapCheck = checkGap(peer, frontier, segment);
      });
      this.crash('recv-after-commit');
      if (burn) this.burn(fd, pad.padId, segment);
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
        ...this.remainingFigures(this.remainingOf(this.ledger.pad(pad.padId) ?? pad)),
      };
    } catch (e) {
      plaintext.fill(0);
      throw e;
    }
  }

  /** Every pad in the ledger with what is left of it (no pad bytes). */
  pads(): PadInfo[] {
    this.assertOpen();
    return this.ledger.pads().map((p) => ({ ...p, ...this.remainingFigures(this.remainingOf(p)) }));
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

  /** Received segments of a pad, for inspection and tests. */
  received(padId: string): ByteRange[] {
    return this.ledger.received(padId);
  }

  /**
   * Stop: abort waits for the user, flush burned-segment rows, close files and databases. Critical sections are
   * synchronous, so a committed reservation is never interrupted by close.
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

  /** Checks that run before any pad byte is read: structure, pad, side, region, replay, overlap. */
  private admit(bytes: Uint8Array): {
    pad: PadRow;
    parsed: ReturnType<typeof parsePackage>;
    segment: ByteRange;
  } {
    let parsed: ReturnType<typeof parsePackage>;
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
    const segment: ByteRange = { start: parsed.start, end: parsed.start + segmentCost(parsed.length) };
    if (segment.end > pad.size) {
      this.events.record('MALFORMED', padId, { code: 'MALFORMED', start: segment.start });
      throw new OnepadError('MALFORMED', { reason: 'segment outside pad' }, 'segment outside pad');
    }
    const peer = otherSide(pad.side);
    if (parsed.side !== peer || intersects(segment, regionOf(pad.side, pad.size, pad.split))) {
      this.events.record('REFLECTION', padId, { start: segment.start, length: parsed.length });
      throw new OnepadError('REFLECTION');
    }
    if (!contains(regionOf(peer, pad.size, pad.split), segment)) {
      throw new OnepadError('MALFORMED', { reason: 'segment outside region' }, 'segment outside region');
    }
    this.checkNotReceived(padId, segment);
    return { pad, parsed, segment };
  }

  /** @throws OnepadError REPLAY or OVERLAP when the segment meets one already received */
  private checkNotReceived(padId: string, segment: ByteRange): void {
    const rel = classify(segment, this.ledger.nearestReceived(padId, segment.end));
    if (rel === 'new') return;
    const code = rel === 'replay' ? 'REPLAY' : 'OVERLAP';
    this.events.record(code, padId, { start: segment.start, end: segment.end });
    throw new OnepadError(code);
  }

  /**
   * The contact's active pad, checked to fit a message of `length`.
   * @throws OnepadError UNKNOWN_CONTACT or PAD_EXHAUSTED
   */
  private sendablePad(contact: string, length: number): PadRow {
    const pad = this.ledger.activePad(contact) ?? this.ledger.exhaustedPad(contact);
    if (!pad) throw new OnepadError('UNKNOWN_CONTACT', { contact });
    const remaining = this.remainingOf(pad);
    const needed = segmentCost(length);
    if (needed > remaining) {
      this.events.record('EXHAUSTED', pad.padId, { remaining, needed });
      throw new OnepadError('PAD_EXHAUSTED', {
        remaining,
        needed,
        maxMessageLength: Math.max(0, remaining - SEGMENT_OVERHEAD),
      });
    }
    return pad;
  }

  private remainingOf(pad: Pick<PadRow, 'side' | 'cursor' | 'split'>): number {
    return pad.side === 'A' ? pad.split - pad.cursor : pad.cursor - pad.split;
  }

  private messagesLeft(remaining: number): number {
    return Math.max(0, Math.floor(remaining / segmentCost(this.deps.config.engine.typicalMessageLength)));
  }

  private remainingFigures(remaining: number): PadRemaining {
    return {
      remaining,
      maxMessageLength: Math.max(0, remaining - SEGMENT_OVERHEAD),
      messagesLeft: this.messagesLeft(remaining),
    };
  }

  private noteRemaining(pad: PadRow, remaining: number): void {
    const threshold = this.deps.config.engine.lowPadWarningBytes;
    if (remaining < threshold && this.remainingOf(pad) >= threshold) {
      this.events.record('LOW_PAD', pad.padId, { remaining });
    }
  }

  private async ask(req: Parameters<Confirmer['confirm']>[0], signal?: AbortSignal): Promise<ConfirmDecision> {
    const combined = signal ? AbortSignal.any([signal, this.shutdown.signal]) : this.shutdown.signal;
    return this.deps.confirmer.confirm(req, combined);
  }

  /** Overwrite a used segment and fdatasync; its queue row goes with the next transaction. */
  private burn(fd: number, padId: string, segment: ByteRange): void {
    overwriteRange(fd, segment.start, segment.end);
    syncData(fd);
    this.ledger.markBurned({ padId, ...segment });
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

  /** Start-up recovery: burn queued segments; abandon pad files without a ledger row. */
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
