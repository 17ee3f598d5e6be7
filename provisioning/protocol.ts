/**
 * The pairing protocol, one side of it, over an established {@link FrameConnection} (docs/PAIRING.md).
 *
 * HELLO both ways → the initiator PROPOSEs pad id and size, the responder ACCEPTs → for each chunk: both COMMIT
 * (hash of their pool bytes), then both REVEAL; each checks the other's reveal against its commitment; the pad
 * chunk is the XOR of both → both send their FINGERPRINT and compare → each user approves on the device (DECISION)
 * → both register the pad and say INSTALLED. Any failure aborts: the partial pad file is burned, an installed but
 * unconfirmed pad is retired and burned, and the pool bytes drawn stay consumed (they were burned when drawn).
 */
import { randomBytes } from 'node:crypto';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import type { ConfirmDecision } from '../device/confirm.js';
import { contactNameProblem, describeNameProblem } from '../device/contact-names.js';
import { isValidContactName } from '../device/engine.js';
import { OnepadError } from '../device/errors.js';
import type { EventLog } from '../device/events.js';
import { checkLayout, type PadLayout, planLayout } from '../device/layout.js';
import type { Ledger } from '../device/ledger/ledger.js';
import { abandonPadFile, PadFileWriter } from '../device/pad-file.js';
import { DEFAULT_TYPICAL_LENGTH, MIN_PAD_SIZE, registerPadFile } from '../device/pads.js';
import { padLimit } from '../device/storage.js';
import type { Side } from '../device/wire.js';
import type { PairingConfig } from './config-section.js';
import type { FrameConnection } from './connection.js';
import { Transcript } from './fingerprint.js';
import { FRAME, jsonFrame, parseJson } from './frames.js';
import { exchangeChunks, type PadSource } from './transfer.js';

export { type PadSource, xorInto } from './transfer.js';

/** 2: a window of chunks in flight (version 1 was lock-step, chunk by chunk). */
export const PAIRING_VERSION = 2;

/** What the user approves on the device after the transfer. */
export interface PairRequest {
  readonly peer: string;
  readonly side: Side;
  readonly size: number;
  readonly fingerprint: string;
  readonly insecure: boolean;
}

/** What the owner is asked when naming the new contact, after they approved the pad. */
export interface NameRequest {
  /** The peer device's own name: only a suggestion (the owner's name for the contact is what counts). */
  readonly suggestion: string;
  /** Why a name cannot be the new contact's (taken, looks like another contact, invalid), or null. */
  readonly check: (name: string) => string | null;
  readonly insecure: boolean;
}

/** Asks this device's user to compare fingerprints and approve the new pad, and to name the new contact. */
export interface PairApprover {
  approvePairing(req: PairRequest, signal: AbortSignal): Promise<ConfirmDecision>;
  /**
   * Ask the owner for the new contact's name, on the device (after they approved). Resolve with a name `check`
   * accepts, or null when they gave up: the pad is then refused as if they had denied it. Without this method
   * the contact is named after the peer device.
   */
  nameContact?(req: NameRequest, signal: AbortSignal): Promise<string | null>;
}

/** Progress, for the screen and the CLI. */
export interface PairingProgress {
  readonly phase: 'transfer' | 'compare' | 'done';
  /** The peer device's name. */
  readonly peer: string;
  readonly bytes: number;
  readonly total: number;
  readonly bytesPerSecond: number;
  /** Estimated seconds until the transfer is complete (0 after it). */
  readonly secondsLeft: number;
}

export interface PairingDeps {
  readonly role: 'initiator' | 'responder';
  /** This device's name (config device.name): the peer stores it as its contact. */
  readonly name: string;
  readonly conn: FrameConnection;
  readonly source: PadSource;
  readonly ledger: Ledger;
  readonly events: EventLog | null;
  readonly padsDir: string;
  readonly approver: PairApprover;
  readonly config: PairingConfig;
  /** The pad size the initiator asks for; it gets min(this, both pools, both maxima). */
  readonly requestedSize?: number;
  /** Initiator: the message length the pad's key areas are sized for (config engine.typicalMessageLength). */
  readonly typicalLength?: number;
  /** Force the insecure mark (a simulated device), whatever the pool says. */
  readonly insecure?: boolean;
  readonly onProgress?: (p: PairingProgress) => void;
  readonly signal?: AbortSignal;
  readonly now?: () => number;
}

export interface PairingResult {
  readonly padId: string;
  readonly contact: string;
  readonly side: Side;
  readonly size: number;
  readonly fingerprint: string;
  readonly insecure: boolean;
}

interface Hello {
  readonly name: string;
  readonly role: 'initiator' | 'responder';
  readonly available: number;
  readonly max: number;
  readonly insecure: boolean;
}

function protocolError(reason: string): OnepadError {
  return new OnepadError('PAIRING_PROTOCOL', { reason }, reason);
}

function parseHello(payload: Uint8Array): Hello {
  const h = parseJson(payload);
  if (h.v !== PAIRING_VERSION) throw protocolError('unsupported version');
  if (!isValidContactName(h.name)) throw protocolError('bad peer name');
  if (h.role !== 'initiator' && h.role !== 'responder') throw protocolError('bad role');
  for (const k of ['available', 'max'] as const) {
    if (!Number.isSafeInteger(h[k]) || (h[k] as number) < 0) throw protocolError(`bad ${k}`);
  }
  if (typeof h.insecure !== 'boolean') throw protocolError('bad insecure');
  return h as unknown as Hello;
}

/** Codes that came from the peer or the link: no point telling the peer about them. */
const PEER_SIDE = new Set(['PAIRING_PEER_ABORTED', 'PAIRING_PEER_LOST']);

/**
 * Run one side of the pairing protocol to completion.
 *
 * @throws OnepadError PAIRING_PROTOCOL, PAIRING_PEER_LOST, PAIRING_PEER_ABORTED, PAIRING_TIMEOUT,
 *   CANCELLED (the signal: SIGTERM, Cancel on the screen), PAIRING_PEER_DENIED, DENIED, COMMITMENT_MISMATCH, PAIRING_PAD_DEGENERATE, FINGERPRINT_MISMATCH, CONTACT_EXISTS,
 *   POOL_INSUFFICIENT,
 *   STORAGE_FULL (the pad would not fit the free space, less the reserve)
 */
export async function runPairing(deps: PairingDeps): Promise<PairingResult> {
  const { conn, config } = deps;
  const now = deps.now ?? Date.now;
  const io = config.ioTimeoutMs;
  let writer: PadFileWriter | null = null;
  let finishedPath: string | null = null;
  let registered: string | null = null;
  try {
    // The largest pad: pairing.maxPadBytes (0 = no fixed cap), never more than the pads dir's free space less
    // the reserve, so a pad that cannot be written whole is refused before a byte is drawn.
    const maxPad = padLimit(config.maxPadBytes, deps.padsDir);
    // --- HELLO ------------------------------------------------------------------------------------
    await conn.send(
      jsonFrame(FRAME.HELLO, {
        v: PAIRING_VERSION,
        name: deps.name,
        role: deps.role,
        available: deps.source.available(),
        max: maxPad,
        insecure: deps.insecure === true,
      }),
    );
    const peer = parseHello(await conn.expect(FRAME.HELLO, io, deps.signal));
    if (peer.role === deps.role) throw protocolError('both devices chose the same role');
    if (peer.name === deps.name) throw protocolError('both devices have the same name');
    // Named after the peer device: refuse at once a name already taken. The owner who names the contact is told
    // on the naming screen instead.
    if (!deps.approver.nameContact && deps.ledger.activePad(peer.name)) {
      throw new OnepadError('CONTACT_EXISTS', { contact: peer.name });
    }
    const side: Side = deps.role === 'initiator' ? 'A' : 'B';
    const nameA = side === 'A' ? deps.name : peer.name;
    const nameB = side === 'A' ? peer.name : deps.name;

    // --- PROPOSE / ACCEPT --------------------------------------------------------------------------
    let padId: Uint8Array;
    let size: number;
    let chunk: number;
    let layout: PadLayout;
    if (deps.role === 'initiator') {
      size = Math.min(
        deps.requestedSize ?? Number.MAX_SAFE_INTEGER,
        deps.source.available(),
        peer.available,
        maxPad,
        peer.max,
      );
      if (maxPad < MIN_PAD_SIZE) {
        throw new OnepadError('STORAGE_FULL', { needed: MIN_PAD_SIZE }, 'no room for a pad on this device');
      }
      if (size < MIN_PAD_SIZE) {
        throw new OnepadError(
          'POOL_INSUFFICIENT',
          { available: size, needed: MIN_PAD_SIZE },
          'not enough pool on one of the devices',
        );
      }
      padId = new Uint8Array(randomBytes(16));
      chunk = config.chunkBytes;
      layout = planLayout(size, deps.typicalLength ?? DEFAULT_TYPICAL_LENGTH);
      await conn.send(
        jsonFrame(FRAME.PROPOSE, {
          padId: bytesToHex(padId),
          size,
          chunk,
          keySlotsA: layout.keySlotsA,
          keySlotsB: layout.keySlotsB,
        }),
      );
      parseJson(await conn.expect(FRAME.ACCEPT, io, deps.signal));
    } else {
      const p = parseJson(await conn.expect(FRAME.PROPOSE, io, deps.signal));
      if (typeof p.padId !== 'string' || !/^[0-9a-f]{32}$/.test(p.padId)) throw protocolError('bad pad id');
      if (!Number.isSafeInteger(p.size) || (p.size as number) < MIN_PAD_SIZE) throw protocolError('bad size');
      if (!Number.isSafeInteger(p.chunk) || (p.chunk as number) < 64 || (p.chunk as number) > 16_777_216) {
        throw protocolError('bad chunk size');
      }
      padId = hexToBytes(p.padId);
      size = p.size as number;
      chunk = p.chunk as number;
      layout = {
        size,
        split: Math.floor(size / 2),
        keySlotsA: p.keySlotsA as number,
        keySlotsB: p.keySlotsB as number,
      };
      try {
        checkLayout(layout);
      } catch {
        throw protocolError('bad layout');
      }
      if (
        size > maxPad &&
        size <= deps.source.available() &&
        (config.maxPadBytes === 0 || size <= config.maxPadBytes)
      ) {
        throw new OnepadError('STORAGE_FULL', { needed: size }, 'no room for a pad of this size on this device');
      }
      if (size > deps.source.available() || size > maxPad) {
        throw new OnepadError('POOL_INSUFFICIENT', { available: deps.source.available(), needed: size });
      }
      await conn.send(jsonFrame(FRAME.ACCEPT, {}));
    }
    const padIdHex = bytesToHex(padId);

    // --- commit / reveal, a window of chunks in flight (transfer.ts) -----------------------------------
    writer = PadFileWriter.create(deps.padsDir, padIdHex, size);
    const transcript = new Transcript(padId, size, nameA, nameB);
    transcript.addLayout(layout.keySlotsA, layout.keySlotsB);
    const started = now();
    const { insecure: drewInsecure } = await exchangeChunks({
      conn,
      source: deps.source,
      writer,
      transcript,
      padId,
      size,
      chunk,
      side,
      window: config.window,
      ioTimeoutMs: io,
      signal: deps.signal,
      onChunk: (done) => {
        const elapsed = Math.max(1, now() - started) / 1000;
        const rate = done / elapsed;
        deps.onProgress?.({
          phase: 'transfer',
          peer: peer.name,
          bytes: done,
          total: size,
          bytesPerSecond: rate,
          secondsLeft: (size - done) / rate,
        });
      },
    });
    const ownInsecure = deps.insecure === true || drewInsecure;
    finishedPath = await writer.finishAsync();
    writer = null;

    // --- fingerprints ----------------------------------------------------------------------------------
    const fingerprint = transcript.fingerprint();
    await conn.send(jsonFrame(FRAME.FINGERPRINT, { fingerprint, insecure: ownInsecure }));
    const theirFp = parseJson(await conn.expect(FRAME.FINGERPRINT, io, deps.signal));
    if (typeof theirFp.insecure !== 'boolean') throw protocolError('bad insecure');
    if (theirFp.fingerprint !== fingerprint) throw new OnepadError('FINGERPRINT_MISMATCH');
    const insecure = ownInsecure || theirFp.insecure;
    deps.onProgress?.({
      phase: 'compare',
      peer: peer.name,
      bytes: size,
      total: size,
      bytesPerSecond: 0,
      secondsLeft: 0,
    });

    // --- both users approve --------------------------------------------------------------------------
    const contact = await decide(deps, { peer: peer.name, side, size, fingerprint, insecure });

    // --- activate on both ----------------------------------------------------------------------------
    const spec = {
      padId: padIdHex,
      contact,
      side,
      size,
      insecure,
      keySlots: { a: layout.keySlotsA, b: layout.keySlotsB },
    };
    registerPadFile(deps.ledger, deps.events, spec, finishedPath, now);
    registered = padIdHex;
    await conn.send(jsonFrame(FRAME.INSTALLED, {}));
    parseJson(await conn.expect(FRAME.INSTALLED, io, deps.signal));
    deps.onProgress?.({ phase: 'done', peer: peer.name, bytes: size, total: size, bytesPerSecond: 0, secondsLeft: 0 });
    conn.close();
    return { padId: padIdHex, contact, side, size, fingerprint, insecure };
  } catch (e) {
    writer?.abort();
    if (registered) {
      deps.ledger.retirePad(registered);
    }
    if (finishedPath) abandonPadFile(finishedPath);
    const err =
      e instanceof OnepadError ? e : new OnepadError('PAIRING_PROTOCOL', { reason: 'internal' }, 'pairing failed');
    if (PEER_SIDE.has(err.code)) conn.close();
    else await conn.abort(err.code);
    throw err;
  }
}

/** Why `name` cannot name a new contact in this ledger, as a line for the screen, or null. */
function nameCheck(ledger: Ledger): (name: string) => string | null {
  return (name) => {
    // A contact whose pads are all used up or retired may be named again as it was (pairing anew).
    const p = contactNameProblem(name, ledger.contactNames(), (other) => ledger.activePad(other) === undefined);
    return p ? describeNameProblem(p) : null;
  };
}

/**
 * Ask this device's user, while listening for the peer's decision: a peer's "deny" cancels our question. Once
 * they approved, they name the contact (when the approver asks for names).
 * @returns the name of the new contact
 * @throws OnepadError DENIED, PAIRING_TIMEOUT (our user did not decide), CANCELLED (the signal), PAIRING_PEER_DENIED,
 *   peer errors
 */
async function decide(deps: PairingDeps, req: PairRequest): Promise<string> {
  const { conn, config } = deps;
  const ac = new AbortController();
  const onOuter = () => ac.abort();
  deps.signal?.addEventListener('abort', onOuter, { once: true });
  // The peer's decision may come before, during or after ours.
  let peerError: unknown = null;
  const peerDecision = conn
    .expect(FRAME.DECISION, config.approvalTimeoutMs + config.ioTimeoutMs, deps.signal)
    .then((p) => {
      const d = parseJson(p);
      if (typeof d.approved !== 'boolean') throw protocolError('bad decision');
      if (!d.approved) {
        // Known before our question is cut short, so the peer's denial is what we report.
        peerError = new OnepadError('PAIRING_PEER_DENIED');
        ac.abort();
        throw peerError;
      }
    });
  peerDecision.catch((e: unknown) => {
    peerError = e;
    ac.abort();
  });
  try {
    const timer = setTimeout(() => ac.abort(), config.approvalTimeoutMs);
    let ours: ConfirmDecision;
    let contact = req.peer;
    try {
      ours = await deps.approver.approvePairing(req, ac.signal);
      if (ours === 'approved' && deps.approver.nameContact) {
        const named = await deps.approver.nameContact(
          { suggestion: req.peer, check: nameCheck(deps.ledger), insecure: req.insecure },
          ac.signal,
        );
        if (named === null) ours = ac.signal.aborted ? 'timeout' : 'denied';
        else contact = named;
      }
    } finally {
      clearTimeout(timer);
    }
    // The peer denied or vanished while we asked: its error is the one to report.
    if (ours !== 'approved' && peerError) throw peerError;
    await conn.send(jsonFrame(FRAME.DECISION, { approved: ours === 'approved' }));
    if (ours === 'denied') throw new OnepadError('DENIED');
    if (ours !== 'approved' && deps.signal?.aborted) throw new OnepadError('CANCELLED', { job: 'pairing' });
    if (ours !== 'approved')
      throw new OnepadError('PAIRING_TIMEOUT', { reason: 'user' }, 'the user did not decide in time');
    await peerDecision;
    return contact;
  } finally {
    deps.signal?.removeEventListener('abort', onOuter);
  }
}
