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
import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync } from 'node:fs';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { Config } from './config/config.js';
import type { ConfirmDecision, Confirmer, SessionEndReason, SessionView } from './confirm.js';
import { type DataDirLayout, prepareDataDir } from './data-dir.js';
import type {
  ByteRange,
  PackageResult,
  PadInfo,
  PadRemaining,
  SessionAsk,
  SessionFrame,
  SessionPackageResult,
  SessionUnpackageResult,
  UnpackageResult,
} from './engine-types.js';
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
import { HolePuncher, type PunchStats } from './pad-punch.js';
import { checkGap, classify, contains, otherSide } from './ranges.js';
import {
  DEFAULT_SESSION_LIMITS,
  dropChunk,
  planChunk,
  SESSION_MAX_BUDGET,
  SESSION_MAX_SECONDS,
  type Session,
  type SessionLimits,
  takeFrame,
  viewOf,
} from './session.js';
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

/** Named points in a pipe session's chunk reservation where a test can make the process die. */
export const SESSION_CRASH_POINTS = ['session-after-reserve', 'session-after-read', 'session-after-burn'] as const;
export type SessionCrashPoint = (typeof SESSION_CRASH_POINTS)[number];

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
  /** Called at each pipe-session crash point; tests kill the process there. */
  readonly sessionCrashHook?: (point: SessionCrashPoint) => void;
  /** Chunk and session bounds (tests pass small ones). */
  readonly sessionLimits?: Partial<SessionLimits>;
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

/** How long received session ranges wait to be burned together (they are queued durably meanwhile). */
const SESSION_BURN_MS = 200;

/** @throws OnepadError INVALID_ARGUMENT when `v` is not an integer in [min, max] */
function checkSessionNumber(argument: string, v: unknown, min: number, max: number): void {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    throw new OnepadError('INVALID_ARGUMENT', { argument, min, max });
  }
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
  /** File-system block size of each open pad file (for the discard hints). */
  private readonly blockSizes = new Map<string, number>();
  /** Punches burned blocks out of the pad files in the background (device/pad-punch.ts). */
  private readonly puncher = new HolePuncher();
  private readonly shutdown = new AbortController();
  private closed = false;
  private burning: Promise<void> | null = null;
  private burnState: BurnProgress | null = null;
  /** Stops the burn in progress (the owner's Stop on the screen); a new one per burn. */
  private burnStop = new AbortController();
  private burnPaused = false;
  private readonly sessions = new Map<string, Session>();
  private readonly endedSessions = new Map<string, SessionEndReason>();
  private sessionTimer: ReturnType<typeof setInterval> | null = null;
  private sessionBurns: { fd: number; padId: string; ranges: ByteRange[] }[] = [];
  private sessionBurnTimer: ReturnType<typeof setTimeout> | null = null;
  private openingSession = false;

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

  // --- pipe sessions (docs/PIPE.md) ----------------------------------------------------------------

  /**
   * Open a pipe session for `contact`, after the owner approved it on the device's screen (budget and time limit
   * as the owner left them there). One session runs at a time; it lives in memory only (a restart ends it).
   *
   * @param signal - aborts the wait for the owner (CONFIRM_TIMEOUT)
   * @throws OnepadError INVALID_ARGUMENT, UNKNOWN_CONTACT, PAD_EXHAUSTED, UNSUPPORTED_VERSION, SESSION_UNAVAILABLE
   *   (one running, private receive on, or no screen for it), DENIED, CONFIRM_TIMEOUT, BUSY, SHUTTING_DOWN
   */
  async openSession(contact: string, ask: SessionAsk, signal?: AbortSignal): Promise<SessionView> {
    this.assertOpen();
    if (!isValidContactName(contact)) {
      throw new OnepadError(
        'INVALID_ARGUMENT',
        { argument: 'contact' },
        'contact must be 1-64 letters, digits or . _ @ - space',
      );
    }
    const max = this.deps.config.engine.maxMessageLength;
    checkSessionNumber('budgetBytes', ask.budgetBytes, MAC_KEY_LENGTH + 1, SESSION_MAX_BUDGET);
    checkSessionNumber('timeLimitSec', ask.timeLimitSec, 1, SESSION_MAX_SECONDS);
    if (ask.frameSize !== null) checkSessionNumber('frameSize', ask.frameSize, 1, max);
    if (this.deps.config.confirm.privateReceive) {
      throw new OnepadError('SESSION_UNAVAILABLE', { reason: 'private-receive' }, 'private receive is on');
    }
    const screen = this.deps.confirmer;
    if (!screen.confirmSession) throw new OnepadError('SESSION_UNAVAILABLE', { reason: 'no-screen' });
    if (this.sessions.size > 0 || this.openingSession) {
      throw new OnepadError('SESSION_UNAVAILABLE', { reason: 'running' }, 'one session at a time');
    }
    const pad = this.sendablePad(contact, ask.frameSize ?? 1);
    const f = figuresOf(pad, this.typical());
    this.openingSession = true;
    let decision: Awaited<ReturnType<NonNullable<Confirmer['confirmSession']>>>;
    try {
      const combined = signal ? AbortSignal.any([signal, this.shutdown.signal]) : this.shutdown.signal;
      decision = await screen.confirmSession(
        {
          kind: 'session',
          contact,
          budgetBytes: ask.budgetBytes,
          timeLimitSec: ask.timeLimitSec,
          frameSize: ask.frameSize,
          padLeft: f.remaining,
          keySlotsLeft: f.keySlotsLeft,
          streamLeft: f.streamLeft,
          insecure: pad.insecure,
        },
        combined,
      );
    } finally {
      this.openingSession = false;
    }
    if (decision.decision !== 'approved') throw decisionError(decision.decision) ?? new OnepadError('DENIED');
    this.assertOpen();
    // What the screen hands back is checked like the laptop's ask: a faulty screen cannot widen the bounds.
    checkSessionNumber('budgetBytes', decision.budgetBytes, MAC_KEY_LENGTH + 1, SESSION_MAX_BUDGET);
    checkSessionNumber('timeLimitSec', decision.timeLimitSec, 1, SESSION_MAX_SECONDS);
    const now = this.now();
    const fresh = this.sendablePad(contact, ask.frameSize ?? 1);
    const s: Session = {
      id: randomBytes(16).toString('hex'),
      contact,
      padId: fresh.padId,
      side: fresh.side,
      budgetBytes: decision.budgetBytes,
      frameSize: ask.frameSize,
      openedAt: now,
      expiresAt: now + decision.timeLimitSec * 1000,
      insecure: fresh.insecure,
      usedBytes: 0,
      sentBytes: 0,
      receivedBytes: 0,
      framesSent: 0,
      framesReceived: 0,
      lastSeen: now,
      chunk: null,
      targetSlots: 1,
      targetStream: 1,
      endReason: null,
    };
    this.sessions.set(s.id, s);
    this.events.record('SESSION_OPENED', s.padId, {
      budget: s.budgetBytes,
      seconds: decision.timeLimitSec,
      frameSize: s.frameSize ?? 0,
    });
    this.sessionTimer ??= setInterval(() => this.checkSessions(), 1000);
    this.sessionTimer.unref?.();
    this.showSession(s);
    return viewOf(s);
  }

  /**
   * Package frames inside a running session: no approval is asked (the owner approved the session). Each frame
   * becomes one wire v2 package (key slot and key stream from the session's current chunk; a new chunk is reserved
   * durably, read and burned when it runs out). Frames that no longer fit the budget or the pad end the session:
   * the packages made before are returned with the ended session. An empty list is a keepalive.
   *
   * @throws OnepadError SESSION_UNKNOWN, SESSION_ENDED, INVALID_ARGUMENT, MESSAGE_TOO_LONG, PAD_BURNED (the session
   *   ends; nothing from the burned chunk was sent), STORAGE_FAILED, SHUTTING_DOWN
   */
  sessionPackage(id: string, frames: readonly Uint8Array[]): SessionPackageResult {
    this.assertOpen();
    const s = this.liveSession(id);
    const limits = this.sessionLimits();
    if (!Array.isArray(frames) || frames.length > limits.maxFramesPerRequest) {
      throw new OnepadError('INVALID_ARGUMENT', { argument: 'frames', max: limits.maxFramesPerRequest });
    }
    const maxLen = s.frameSize ?? this.deps.config.engine.maxMessageLength;
    for (const fr of frames) {
      if (!(fr instanceof Uint8Array) || fr.length === 0) {
        throw new OnepadError('INVALID_ARGUMENT', { argument: 'frames' }, 'every frame must be 1 byte or more');
      }
      if (fr.length > maxLen) throw new OnepadError('MESSAGE_TOO_LONG', { length: fr.length, max: maxLen });
    }
    s.lastSeen = this.now();
    const padIdBytes = Buffer.from(s.padId, 'hex');
    const out: Uint8Array[] = [];
    for (let k = 0; k < frames.length; k++) {
      const frame = frames[k] as Uint8Array;
      const L = s.frameSize ?? frame.length;
      let fb = s.chunk ? takeFrame(s.chunk, s.side, L) : null;
      if (!fb) {
        if (!this.nextChunk(s, frames, k)) break;
        fb = takeFrame(s.chunk as NonNullable<Session['chunk']>, s.side, L);
        if (!fb) throw new OnepadError('INTERNAL');
      }
      let plain = frame;
      if (s.frameSize !== null && frame.length < s.frameSize) {
        plain = new Uint8Array(s.frameSize);
        plain.set(frame);
      }
      try {
        out.push(encodePackage(s.side, padIdBytes, fb.index, fb.stream.start, plain, fb.key, fb.keyStream));
      } finally {
        fb.key.fill(0);
        fb.keyStream.fill(0);
        if (plain !== frame) plain.fill(0);
      }
      s.framesSent++;
      s.sentBytes += frame.length;
    }
    this.showSession(s);
    return { packages: out, session: viewOf(s) };
  }

  /**
   * Authenticate and decrypt packages of the session's pad inside a running session: every check of
   * {@link unpackage}, for all packages, before anything is recorded; then all of them recorded in one durable
   * transaction and burned with one sync. All or nothing: one bad package refuses the whole batch and changes no
   * state. Confirm-decrypt is not asked (the owner approved the session).
   *
   * @throws OnepadError SESSION_UNKNOWN, SESSION_ENDED, INVALID_ARGUMENT (a package of another pad), and every
   *   code of {@link unpackage}
   */
  sessionUnpackage(id: string, packages: readonly Uint8Array[]): SessionUnpackageResult {
    this.assertOpen();
    const s = this.liveSession(id);
    const limits = this.sessionLimits();
    if (!Array.isArray(packages) || packages.length > limits.maxFramesPerRequest) {
      throw new OnepadError('INVALID_ARGUMENT', { argument: 'packages', max: limits.maxFramesPerRequest });
    }
    s.lastSeen = this.now();
    const admitted = packages.map((b) => this.admit(b));
    for (const a of admitted) {
      if (a.pad.padId !== s.padId) {
        throw new OnepadError(
          'INVALID_ARGUMENT',
          { argument: 'packages' },
          "a package of another pad than the session's",
        );
      }
    }
    const plaintexts: Uint8Array[] = [];
    try {
      const pad = admitted[0]?.pad;
      const fd = pad ? this.fd(pad) : -1;
      for (const a of admitted) {
        const keyBytes = readSegment(fd, a.key.start, MAC_KEY_LENGTH);
        const streamBytes = readSegment(fd, a.stream.start, a.parsed.length);
        try {
          this.refuseBurned(a.pad.padId, 'receive', a.parsed.index, keyBytes, streamBytes);
          plaintexts.push(verifyAndDecrypt(a.parsed, keyBytes, streamBytes));
        } catch (e) {
          if (e instanceof OnepadError && e.code === 'MAC_INVALID') {
            this.events.record('MAC_FAILURE', a.pad.padId, {
              index: a.parsed.index,
              start: a.stream.start,
              length: a.parsed.length,
            });
          }
          throw e;
        } finally {
          keyBytes.fill(0);
          streamBytes.fill(0);
        }
      }
      const burn = this.deps.config.engine.burn;
      const peer = otherSide(s.side);
      const checks: { gap: ByteRange | null; late: boolean }[] = [];
      if (pad && admitted.length > 0) {
        this.ledger.recordReceivedBatch(
          s.padId,
          admitted.map((a) => ({ slot: a.parsed.index, key: a.key, stream: a.stream })),
          burn,
          (i) => {
            const a = admitted[i] as Admitted;
            this.checkNotReceived(s.padId, a.parsed.index, a.stream);
            const area = sideAreas(pad, peer).stream;
            const frontier = this.ledger.receivedFrontier(s.padId, peer) ?? (peer === 'A' ? area.start : area.end);
            checks.push(checkGap(peer, frontier, a.stream));
          },
        );
        this.crash('recv-after-commit');
        if (burn) {
          // Burned in batches (at most every SESSION_BURN_MS, and when the session ends): the ranges were queued
          // for burning in the transaction that recorded them, so a crash before the batch burns them at start,
          // and the ledger refuses them again whatever the pad file still holds.
          for (const a of admitted) this.sessionBurns.push({ fd, padId: s.padId, ranges: [a.key, a.stream] });
          this.sessionBurnTimer ??= setTimeout(() => this.flushSessionBurns(), SESSION_BURN_MS);
          this.sessionBurnTimer.unref?.();
        }
        // No GAP event per frame: inside a session the sender gives up the rest of each chunk, so gaps are expected;
        // the pipe's own sequence numbers (client/pipe-frames.ts) detect a lost frame and end the stream.
      }
      const frames: SessionFrame[] = plaintexts.map((plaintext, i) => {
        const c = checks[i] ?? { gap: null, late: false };
        return { plaintext, gaps: c.gap ? [c.gap] : [], late: c.late };
      });
      s.framesReceived += frames.length;
      for (const f of frames) s.receivedBytes += f.plaintext.length;
      this.showSession(s);
      return { frames, session: viewOf(s) };
    } catch (e) {
      for (const p of plaintexts) p.fill(0);
      throw e;
    }
  }

  /**
   * The laptop ends a running session (its pipe closed). The rest of the current chunk is given up.
   * @throws OnepadError SESSION_UNKNOWN, SESSION_ENDED
   */
  endSession(id: string): SessionView {
    this.assertOpen();
    const s = this.liveSession(id);
    this.finishSession(s, 'closed');
    return viewOf(s);
  }

  /** The running sessions' views (the screen and tests). */
  runningSessions(): SessionView[] {
    return [...this.sessions.values()].map(viewOf);
  }

  /** Stop a running session, as the screen's Stop does. False when it is not running. */
  stopSession(id: string): boolean {
    const s = this.sessions.get(id);
    if (!s) return false;
    this.finishSession(s, 'stopped');
    return true;
  }

  /** Every pad in the ledger with what is left of it (no pad bytes). */
  pads(): PadInfo[] {
    this.assertOpen();
    return this.ledger.pads().map((p) => ({ ...p, ...figuresOf(p, this.typical()) }));
  }

  /**
   * Burn the data dir's abandoned pad files in the background (device/pad-burner.ts), if there are any and no
   * burn is running and the owner has not stopped burning ({@link stopBurning}). Started at open; call again after
   * abandoning a file. Stops at close, resumable.
   */
  startBurning(): void {
    if (this.closed || this.burning || this.burnPaused || listBurning(this.layout.pads).length === 0) return;
    this.burnStop = new AbortController();
    this.burning = burnAbandoned(this.layout.pads, {
      signal: AbortSignal.any([this.shutdown.signal, this.burnStop.signal]),
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

  /**
   * Stop the background burn after the step in progress (the owner's Stop on the screen), and start none until
   * {@link resumeBurning}. What is abandoned stays abandoned (never usable); the burn resumes where it stopped.
   * Resolves once the burn has stopped.
   */
  async stopBurning(): Promise<void> {
    this.burnPaused = true;
    this.burnStop.abort();
    await this.burning;
  }

  /** Go on burning after {@link stopBurning}. */
  resumeBurning(): void {
    this.burnPaused = false;
    this.startBurning();
  }

  /** The background burn's progress (kept while stopped part way), or null when nothing is left to burn. */
  burnProgress(): BurnProgress | null {
    return this.burnState;
  }

  /** Settles when the background burn has ended: done, stopped by close, or failed. */
  async burnSettled(): Promise<void> {
    await this.burning;
  }

  /**
   * Punch the whole blocks of burned ranges out of the pad files now, instead of at the next interval; resolves
   * when those background runs ended (tests and the benchmark). See device/pad-punch.ts.
   */
  async discardBurned(): Promise<PunchStats> {
    await this.puncher.flush();
    return { ...this.puncher.stats };
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
    for (const sess of [...this.sessions.values()]) this.finishSession(sess, 'shutdown');
    this.flushSessionBurns();
    this.closed = true;
    this.shutdown.abort();
    this.puncher.close();
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

  // --- pipe session internals ---

  private sessionLimits(): SessionLimits {
    return { ...DEFAULT_SESSION_LIMITS, ...this.deps.sessionLimits };
  }

  private now(): number {
    return (this.deps.now ?? Date.now)();
  }

  /**
   * The running session `id`, after ending it if its time limit passed or the laptop was quiet too long.
   * @throws OnepadError INVALID_ARGUMENT (not an id), SESSION_UNKNOWN, SESSION_ENDED
   */
  private liveSession(id: string): Session {
    if (typeof id !== 'string' || !/^[0-9a-f]{32}$/.test(id)) {
      throw new OnepadError('INVALID_ARGUMENT', { argument: 'session' }, 'a session id is 32 hex digits');
    }
    const s = this.sessions.get(id);
    if (!s) {
      const reason = this.endedSessions.get(id);
      if (reason) throw new OnepadError('SESSION_ENDED', { reason });
      throw new OnepadError('SESSION_UNKNOWN');
    }
    const ended = this.expiry(s);
    if (ended) {
      this.finishSession(s, ended);
      throw new OnepadError('SESSION_ENDED', { reason: ended });
    }
    return s;
  }

  private expiry(s: Session): SessionEndReason | null {
    const now = this.now();
    if (now >= s.expiresAt) return 'time';
    if (now - s.lastSeen > this.sessionLimits().idleMs) return 'idle';
    return null;
  }

  /** End sessions past their time or idle limit (a timer, so the screen shows it without a request). */
  private checkSessions(): void {
    for (const s of [...this.sessions.values()]) {
      const ended = this.expiry(s);
      if (ended) this.finishSession(s, ended);
      else this.showSession(s);
    }
  }

  /**
   * Reserve, read and burn the session's next chunk for frames[k..] (the old one is dropped). False when the
   * session ended instead (budget or pad).
   * @throws OnepadError PAD_BURNED (the session ends with `error`), STORAGE_FAILED
   */
  private nextChunk(s: Session, frames: readonly Uint8Array[], k: number): boolean {
    const old = s.chunk;
    const max = this.sessionLimits();
    if (old) {
      // Grow what ran out, so a long stream reserves fewer, larger chunks.
      if (old.usedSlots >= old.r.slots) s.targetSlots = Math.min(max.maxChunkSlots, 2 * old.r.slots);
      else s.targetStream = Math.min(max.maxChunkStream, 2 * old.stream.length);
    }
    dropChunk(old);
    s.chunk = null;
    let restStream = 0;
    for (let j = k; j < frames.length; j++) restStream += s.frameSize ?? (frames[j] as Uint8Array).length;
    const need = s.frameSize ?? (frames[k] as Uint8Array).length;
    const pad = this.ledger.pad(s.padId);
    if (pad?.state !== 'active') {
      this.finishSession(s, 'pad');
      return false;
    }
    const room = sendRoom(pad);
    const plan = planChunk({
      need,
      targetSlots: Math.min(max.maxChunkSlots, Math.max(s.targetSlots, frames.length - k)),
      targetStream: Math.min(max.maxChunkStream, Math.max(s.targetStream, restStream)),
      budgetLeft: s.budgetBytes - s.usedBytes,
      slotsLeft: room.keySlotsLeft,
      streamLeft: room.streamLeft,
    });
    if ('fail' in plan) {
      this.finishSession(s, plan.fail);
      return false;
    }
    const burn = this.deps.config.engine.burn;
    const r = this.ledger.reserveChunk(s.padId, plan.slots, plan.stream, burn);
    s.usedBytes += MAC_KEY_LENGTH * plan.slots + plan.stream;
    this.sessionCrash('session-after-reserve');
    const fd = this.fd(pad);
    const keys = readSegment(fd, r.keys.start, MAC_KEY_LENGTH * plan.slots);
    const stream = readSegment(fd, r.stream.start, plan.stream);
    this.sessionCrash('session-after-read');
    try {
      this.refuseBurned(s.padId, 'send', r.firstIndex, keys, stream);
    } catch (e) {
      keys.fill(0);
      stream.fill(0);
      this.finishSession(s, 'error');
      throw e;
    }
    if (burn) this.burn(fd, s.padId, [r.keys, r.stream]);
    this.sessionCrash('session-after-burn');
    s.chunk = { r, keys, stream, usedSlots: 0, usedStream: 0 };
    this.noteRemaining(pad, figuresOf(r.after, this.typical()).remaining);
    return true;
  }

  /** Burn the received ranges of sessions not yet burned: overwrite them, one fdatasync per pad file. */
  private flushSessionBurns(): void {
    if (this.sessionBurnTimer) clearTimeout(this.sessionBurnTimer);
    this.sessionBurnTimer = null;
    const todo = this.sessionBurns;
    this.sessionBurns = [];
    if (todo.length === 0 || this.closed) return;
    const fds = new Set<number>();
    for (const t of todo) {
      for (const r of t.ranges) overwriteRange(t.fd, r.start, r.end);
      fds.add(t.fd);
    }
    for (const fd of fds) syncData(fd);
    for (const t of todo) for (const r of t.ranges) this.ledger.markBurned({ padId: t.padId, ...r });
    for (const t of todo) this.discard(t.padId, t.ranges);
  }

  /** End a session: zero its chunk, forget it (keeping the reason), record it, tell the screen. */
  private finishSession(s: Session, reason: SessionEndReason): void {
    if (s.endReason !== null) return;
    this.flushSessionBurns();
    s.endReason = reason;
    dropChunk(s.chunk);
    s.chunk = null;
    this.sessions.delete(s.id);
    this.endedSessions.set(s.id, reason);
    const keep = this.sessionLimits().rememberEnded;
    for (const old of this.endedSessions.keys()) {
      if (this.endedSessions.size <= keep) break;
      this.endedSessions.delete(old);
    }
    if (this.sessions.size === 0 && this.sessionTimer) {
      clearInterval(this.sessionTimer);
      this.sessionTimer = null;
    }
    if (!this.closed || reason === 'shutdown') {
      try {
        this.events.record('SESSION_ENDED', s.padId, {
          reason,
          used: s.usedBytes,
          framesSent: s.framesSent,
          framesReceived: s.framesReceived,
        });
      } catch {
        // the event log is closed (shutdown): the session is ended all the same
      }
    }
    this.showSession(s);
  }

  private showSession(s: Session): void {
    const screen = this.deps.confirmer;
    if (!screen.showSession) return;
    try {
      screen.showSession(viewOf(s), () => {
        this.stopSession(s.id);
      });
    } catch {
      // the screen's fault must not break the session's bookkeeping
    }
  }

  private sessionCrash(point: SessionCrashPoint): void {
    this.deps.sessionCrashHook?.(point);
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
    this.discard(padId, ranges);
  }

  /** Hand ranges that are burned and synced to the background hole puncher (a discard hint to the flash). */
  private discard(padId: string, ranges: readonly ByteRange[]): void {
    this.puncher.add(padFilePath(this.layout.pads, padId), this.blockSizes.get(padId) ?? 4096, ranges);
  }

  private fd(pad: PadRow): number {
    let fd = this.fds.get(pad.padId);
    if (fd === undefined) {
      fd = openPadFile(padFilePath(this.layout.pads, pad.padId), pad.size);
      this.fds.set(pad.padId, fd);
      this.blockSizes.set(pad.padId, fstatSync(fd).blksize);
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
    for (const entry of queued) this.discard(entry.padId, [entry]);
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
