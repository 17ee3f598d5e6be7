/**
 * A multiplexed pipe channel, as snitun multiplexes: many TCP streams (and, in TAP mode, Ethernet frames) over one
 * wire between the two laptops (a direct TCP connection, or one spliced by the pipe relay, client/pipe-relay.ts),
 * each record packaged by the laptop's device inside its session (docs/PIPE.md, "Multiplexed channels").
 *
 * Records are those of client/pipe-frames.ts; on a channel the sequence number counts every record of the
 * channel in one direction, so a record dropped, reordered or replayed by the wire or the relay ends the channel
 * (`MALFORMED`, every stream told). Streams are named by the 8-byte connection id their opener chose:
 * OPEN, DATA…, EOF each way; RESET ends one stream with a reason (the target refused, the local socket failed),
 * and only that stream. PING, sent after `keepaliveMs` without sending anything, keeps the channel alive; nothing
 * authenticated from the other side for `deadMs` ends it with `PIPE_KEEPALIVE_TIMEOUT`.
 *
 * When this side fails (its device gone, its session ended), it writes a short unauthenticated notice with its
 * error code before closing the wire, so the other side's streams end with `PIPE_PEER_FAILED` naming that code
 * rather than a bare `PIPE_BROKEN`. A notice can only end the channel, which whoever carries the wire can do
 * anyway by closing it.
 */
import { randomBytes } from 'node:crypto';
import type { Duplex, Readable, Writable } from 'node:stream';
import { type ErrorDetails, isOnepadError, OnepadError } from '../device/errors.js';
import { PACKAGE_OVERHEAD } from '../device/wire.js';
import {
  encodeFrame,
  FRAME_HEADER,
  type FrameType,
  frameNotice,
  framePackage,
  PackageReader,
  parseFrame,
} from './pipe-frames.js';

/** What a channel needs of the device session (client/pipe-link.ts's SessionLink). */
export interface ChannelLink {
  package(frames: readonly Uint8Array[]): Promise<Uint8Array[]>;
  unpackage(packages: readonly Uint8Array[]): Promise<Uint8Array[]>;
}

/** What a channel is given. */
export interface ChannelOptions {
  readonly link: ChannelLink;
  readonly wire: Duplex;
  /** Most data bytes per record. */
  readonly maxData: number;
  /** Most payload bytes per device request (default 192 KiB). */
  readonly batchBytes?: number;
  /** Send a PING after this long without sending (default 10 s). */
  readonly keepaliveMs?: number;
  /** End the channel after this long without an authenticated record (default 3 × keepaliveMs). */
  readonly deadMs?: number;
  /** A stream the other side opened: join it to a local socket with `accept`, or `refuse` it. */
  readonly onStream?: (s: IncomingStream) => void;
  /** An Ethernet frame the other side sent (TAP mode). */
  readonly onEther?: (frame: Uint8Array) => void;
  /** One line per stream event (opened, ended, failed with its code); no data. */
  readonly log?: (line: string) => void;
}

/** A stream the other side opened, waiting for {@link IncomingStream.accept} or {@link IncomingStream.refuse}. */
export interface IncomingStream {
  readonly id: string;
  /** Join the stream to local plaintext ends; resolves at its end, rejects with its coded error. */
  accept(plainIn: Readable, plainOut: Writable): Promise<void>;
  /** Reset it with a reason (an ASCII word, e.g. `target-refused`). */
  refuse(reason: string): void;
}

interface Stream {
  readonly id: string;
  readonly conn: Uint8Array;
  plainIn: Readable | null;
  plainOut: Writable | null;
  pending: Buffer[];
  pendingBytes: number;
  openQueued: boolean;
  plainEnded: boolean;
  sentEof: boolean;
  gotEof: boolean;
  /** Records of this stream not yet packaged and written. */
  inFlight: number;
  settle: ((e: OnepadError | null) => void) | null;
  /** Data that arrived before accept(). */
  early: Buffer[];
  earlyEof: boolean;
}

const HIGH_WATER = 1 << 20;
const MAX_ETHER_QUEUE = 1024;
const REASON_RE = /^[A-Za-z0-9_-]{1,48}$/;

/** One channel over one wire. */
export class PipeChannel {
  private readonly o: ChannelOptions;
  private readonly batchBytes: number;
  private readonly keepaliveMs: number;
  private readonly deadMs: number;
  private readonly streams = new Map<string, Stream>();
  /** Ids of streams that ended here; records of theirs still on the way are dropped. */
  private readonly gone = new Set<string>();
  /** Records waiting that belong to no stream's data (OPEN, EOF, RESET, PING, ETHER), in order. */
  private control: { type: FrameType; conn: Uint8Array; data: Uint8Array; stream?: Stream }[] = [];
  private etherQueued = 0;
  private sendSeq = 0;
  private recvSeq = 0;
  private outBusy = false;
  private inBusy = false;
  private readonly inQueue: Uint8Array[] = [];
  private readonly reader: PackageReader;
  private failure: OnepadError | null = null;
  private lastSent = Date.now();
  private lastRecv = Date.now();
  private readonly timer: ReturnType<typeof setInterval>;
  private rr = 0;
  private resolveClosed!: (e: OnepadError | null) => void;
  /** Resolves when the channel ends: null after {@link close}, else the error that ended it. */
  readonly closed: Promise<OnepadError | null>;
  /** Counts, for logs and tests. */
  readonly stats = { streamsOpened: 0, streamsAccepted: 0, pingsSent: 0, etherSent: 0, etherReceived: 0 };
  private draining = false;
  private peerNotice: OnepadError | null = null;

  constructor(o: ChannelOptions) {
    this.o = o;
    this.batchBytes = o.batchBytes ?? 192 * 1024;
    this.keepaliveMs = o.keepaliveMs ?? 10_000;
    this.deadMs = o.deadMs ?? 3 * this.keepaliveMs;
    this.closed = new Promise((r) => {
      this.resolveClosed = r;
    });
    this.reader = new PackageReader(o.maxData + FRAME_HEADER + PACKAGE_OVERHEAD + 1024 * 1024, true);
    o.wire.on('data', (c: Buffer) => this.onWire(c));
    // The other side's notice, when one came, says more than the closing that follows it.
    const closedWire = (reason: string) =>
      this.afterInput(() =>
        this.peerNotice ? this.fail(this.peerNotice, null) : this.fail(new OnepadError('PIPE_BROKEN', { reason })),
      );
    o.wire.on('end', () => closedWire('channel closed'));
    o.wire.on('error', () => closedWire('channel failed'));
    o.wire.on('close', () => closedWire('channel closed'));
    o.wire.on('drain', () => this.pumpOut());
    const tick = Math.max(50, Math.min(1000, Math.floor(this.keepaliveMs / 4)));
    this.timer = setInterval(() => this.onTick(), tick);
    this.timer.unref();
  }

  /** The error that ended the channel, if it has. */
  get error(): OnepadError | null {
    return this.failure;
  }

  /** Streams running now. */
  get openStreams(): number {
    return this.streams.size;
  }

  /**
   * Open a stream to the other side and join it to local plaintext ends: resolves when both directions reached
   * EOF, rejects with a coded OnepadError (its RESET reason, or the channel's failure).
   */
  openStream(plainIn: Readable, plainOut: Writable): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    const conn = randomBytes(8);
    const s = this.newStream(conn);
    this.stats.streamsOpened++;
    this.queueControl('OPEN', s);
    this.o.log?.(`stream ${s.id} opened`);
    return this.join(s, plainIn, plainOut);
  }

  /** Send one Ethernet frame (TAP mode). Dropped, as a NIC would, when too many wait or it is too large. */
  sendEther(frame: Uint8Array): boolean {
    if (this.failure || frame.length > this.o.maxData || this.etherQueued >= MAX_ETHER_QUEUE) return false;
    this.etherQueued++;
    this.control.push({ type: 'ETHER', conn: new Uint8Array(8), data: frame });
    this.pumpOut();
    return true;
  }

  /** End the channel here: every stream still running ends with PIPE_BROKEN (reason `channel closed here`). */
  close(): void {
    this.fail(new OnepadError('PIPE_BROKEN', { reason: 'channel closed here' }), null);
  }

  private newStream(conn: Uint8Array): Stream {
    const s: Stream = {
      id: Buffer.from(conn).toString('hex'),
      conn,
      plainIn: null,
      plainOut: null,
      pending: [],
      pendingBytes: 0,
      openQueued: false,
      plainEnded: false,
      sentEof: false,
      gotEof: false,
      inFlight: 0,
      settle: null,
      early: [],
      earlyEof: false,
    };
    this.streams.set(s.id, s);
    return s;
  }

  private join(s: Stream, plainIn: Readable, plainOut: Writable): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      s.settle = (e) => (e ? reject(e) : resolve());
      s.plainIn = plainIn;
      s.plainOut = plainOut;
      for (const b of s.early) plainOut.write(b);
      s.early = [];
      if (s.earlyEof) plainOut.end();
      plainIn.on('data', (c: Buffer) => {
        if (!this.streams.has(s.id) || s.plainEnded) return;
        s.pending.push(c);
        s.pendingBytes += c.length;
        if (s.pendingBytes >= HIGH_WATER) plainIn.pause();
        this.pumpOut();
      });
      plainIn.on('end', () => {
        s.plainEnded = true;
        this.pumpOut();
      });
      const localFail = () =>
        this.resetStream(s, 'local-failed', new OnepadError('PIPE_BROKEN', { reason: 'local stream failed' }));
      plainIn.on('error', localFail);
      plainOut.on('error', localFail);
      plainIn.on('close', () => {
        if (!s.plainEnded && this.streams.has(s.id)) localFail();
      });
      this.pumpOut();
    });
  }

  private queueControl(type: FrameType, s?: Stream, data: Uint8Array = new Uint8Array(0)): void {
    this.control.push({ type, conn: s?.conn ?? new Uint8Array(8), data, ...(s ? { stream: s } : {}) });
    if (s) s.inFlight++;
    if (type === 'OPEN' && s) s.openQueued = true;
    this.pumpOut();
  }

  /** End one stream here with `reason` told to the other side, and settle it with `err`. */
  private resetStream(s: Stream, reason: string, err: OnepadError): void {
    if (!this.streams.has(s.id)) return;
    s.pending = [];
    s.pendingBytes = 0;
    this.queueControl('RESET', s, Buffer.from(REASON_RE.test(reason) ? reason : 'reset', 'latin1'));
    this.finish(s, err);
  }

  private finish(s: Stream, err: OnepadError | null): void {
    if (!this.streams.delete(s.id)) return;
    this.gone.add(s.id);
    if (this.gone.size > 65536) this.gone.delete(this.gone.values().next().value as string);
    this.o.log?.(err ? `stream ${s.id} failed: ${describeError(err)}` : `stream ${s.id} ended`);
    if (err) {
      s.plainIn?.destroy();
      if (s.plainOut !== process.stdout) s.plainOut?.destroy();
    }
    s.settle?.(err);
  }

  private maybeDone(s: Stream): void {
    if (s.sentEof && s.gotEof && s.inFlight === 0) this.finish(s, null);
  }

  private pumpOut(): void {
    if (this.outBusy || this.failure || this.draining) return;
    if (this.o.wire.writableNeedDrain) return;
    const recs: { type: FrameType; conn: Uint8Array; data: Uint8Array; stream?: Stream }[] = [];
    let taken = 0;
    // Control records first (they are small and in order), then round-robin over the streams' data, at most one
    // record per stream per round, so a keystroke waits for at most one request of a bulk transfer.
    while (this.control.length > 0 && taken < this.batchBytes && recs.length < 1024) {
      const c = this.control[0] as (typeof this.control)[number];
      this.control.shift();
      if (c.type === 'ETHER') this.etherQueued--;
      recs.push(c);
      taken += c.data.length + FRAME_HEADER;
    }
    const ready = [...this.streams.values()].filter((s) => s.plainIn !== null && s.openQueued);
    let progress = true;
    while (progress && taken < this.batchBytes && recs.length < 1024) {
      progress = false;
      for (let k = 0; k < ready.length && taken < this.batchBytes && recs.length < 1024; k++) {
        const s = ready[(this.rr + k) % ready.length] as Stream;
        const head = s.pending[0];
        if (!head) continue;
        const n = Math.min(head.length, this.o.maxData, this.batchBytes - taken);
        recs.push({ type: 'DATA', conn: s.conn, data: head.subarray(0, n), stream: s });
        s.inFlight++;
        taken += n + FRAME_HEADER;
        s.pendingBytes -= n;
        if (n === head.length) s.pending.shift();
        else s.pending[0] = head.subarray(n);
        if (s.pendingBytes < HIGH_WATER && s.plainIn?.isPaused()) s.plainIn.resume();
        progress = true;
      }
      this.rr++;
    }
    for (const s of ready) {
      if (s.plainEnded && s.pending.length === 0 && !s.sentEof) {
        s.sentEof = true;
        recs.push({ type: 'EOF', conn: s.conn, data: new Uint8Array(0), stream: s });
        s.inFlight++;
      }
    }
    if (recs.length === 0) return;
    if (this.sendSeq + recs.length > 0xffff_ffff) {
      this.fail(new OnepadError('PIPE_BROKEN', { reason: 'channel sequence exhausted' }));
      return;
    }
    const frames = recs.map((r) => encodeFrame({ type: r.type, conn: r.conn, seq: this.sendSeq++, data: r.data }));
    this.outBusy = true;
    this.lastSent = Date.now();
    this.o.link.package(frames).then(
      (pkgs) => {
        for (const f of frames) f.fill(0);
        this.outBusy = false;
        if (this.failure) return;
        if (pkgs.length < frames.length) {
          this.fail(new OnepadError('SESSION_ENDED', { reason: 'budget' }));
          return;
        }
        this.o.wire.write(Buffer.concat(pkgs.map(framePackage)));
        this.lastSent = Date.now();
        for (const r of recs) {
          if (!r.stream) continue;
          r.stream.inFlight--;
          this.maybeDone(r.stream);
        }
        this.pumpOut();
      },
      (e) => {
        for (const f of frames) f.fill(0);
        this.outBusy = false;
        this.fail(e);
      },
    );
  }

  private onWire(c: Buffer): void {
    if (this.failure) return;
    let items: (Uint8Array | string)[];
    try {
      items = this.reader.push(c, true);
    } catch (e) {
      this.fail(e);
      return;
    }
    for (const it of items) {
      if (typeof it === 'string') {
        // The other side's word that it failed; what arrived before it is checked first.
        const notice = new OnepadError('PIPE_PEER_FAILED', { code: it });
        this.peerNotice = notice;
        this.afterInput(() => this.fail(notice, null));
        this.o.wire.pause();
        return;
      }
      this.inQueue.push(it);
    }
    if (this.inQueue.length >= 1024) this.o.wire.pause();
    this.pumpIn();
  }

  /** Run `f` once every package that arrived so far is processed. */
  private afterInput(f: () => void): void {
    const check = () => {
      if (this.failure) return;
      if (this.inBusy || this.inQueue.length > 0) setTimeout(check, 5);
      else f();
    };
    check();
  }

  private pumpIn(): void {
    if (this.inBusy || this.failure || this.inQueue.length === 0) return;
    const batch: Uint8Array[] = [];
    let bytes = 0;
    while (this.inQueue.length > 0 && batch.length < 1024 && bytes < this.batchBytes) {
      const p = this.inQueue.shift() as Uint8Array;
      batch.push(p);
      bytes += p.length;
    }
    this.inBusy = true;
    this.o.link.unpackage(batch).then(
      (plain) => {
        this.inBusy = false;
        if (this.failure) return;
        this.lastRecv = Date.now();
        try {
          for (const pt of plain) {
            this.onRecord(pt);
            pt.fill(0);
          }
        } catch (e) {
          this.fail(e);
          return;
        }
        if (this.inQueue.length < 256 && this.o.wire.isPaused()) this.o.wire.resume();
        this.pumpIn();
      },
      (e) => {
        this.inBusy = false;
        this.fail(e);
      },
    );
  }

  /** @throws OnepadError MALFORMED when the record breaks the channel's rules */
  private onRecord(pt: Uint8Array): void {
    const f = parseFrame(pt);
    if (f.seq !== this.recvSeq) {
      throw new OnepadError('MALFORMED', { reason: 'pipe frame out of order', expected: this.recvSeq, got: f.seq });
    }
    this.recvSeq++;
    const id = Buffer.from(f.conn).toString('hex');
    if (f.type === 'PING') return;
    if (f.type === 'ETHER') {
      this.stats.etherReceived++;
      // A copy: the record's plaintext is zeroed once handled, and a datagram send may still hold it.
      this.o.onEther?.(Buffer.from(f.data));
      return;
    }
    const s = this.streams.get(id);
    if (f.type === 'OPEN') {
      if (s || this.gone.has(id)) throw new OnepadError('MALFORMED', { reason: 'pipe OPEN of a known stream' });
      const ns = this.newStream(f.conn.slice());
      ns.openQueued = true;
      this.stats.streamsAccepted++;
      this.o.log?.(`stream ${ns.id} opened by the other side`);
      if (!this.o.onStream) {
        this.resetStream(ns, 'not-accepting', new OnepadError('PIPE_STREAM_RESET', { reason: 'not-accepting' }));
        return;
      }
      let decided = false;
      this.o.onStream({
        id: ns.id,
        accept: (plainIn, plainOut) => {
          decided = true;
          return this.join(ns, plainIn, plainOut);
        },
        refuse: (reason) => {
          if (decided) return;
          decided = true;
          this.resetStream(ns, reason, new OnepadError('PIPE_STREAM_RESET', { reason, by: 'here' }));
        },
      });
      return;
    }
    if (!s) {
      // A stream that ended here may still have records on the way; a stream never opened may not.
      if (this.gone.has(id)) return;
      throw new OnepadError('MALFORMED', { reason: 'pipe frame of an unknown stream' });
    }
    if (s.gotEof) throw new OnepadError('MALFORMED', { reason: 'pipe frame after EOF' });
    if (f.type === 'DATA') {
      const b = Buffer.from(f.data);
      if (s.plainOut) s.plainOut.write(b);
      else s.early.push(b);
    } else if (f.type === 'EOF') {
      s.gotEof = true;
      if (s.plainOut) s.plainOut.end();
      else s.earlyEof = true;
      this.maybeDone(s);
    } else if (f.type === 'RESET') {
      const reason = Buffer.from(f.data).toString('latin1');
      s.pending = [];
      this.finish(
        s,
        new OnepadError('PIPE_STREAM_RESET', { reason: REASON_RE.test(reason) ? reason : 'reset', by: 'other side' }),
      );
    }
  }

  private onTick(): void {
    if (this.failure) return;
    const t = Date.now();
    if (!this.inBusy && this.inQueue.length === 0 && t - this.lastRecv >= this.deadMs) {
      this.fail(new OnepadError('PIPE_KEEPALIVE_TIMEOUT', { afterMs: t - this.lastRecv }));
      return;
    }
    if (!this.outBusy && t - this.lastSent >= this.keepaliveMs) {
      this.stats.pingsSent++;
      this.queueControl('PING');
    }
  }

  /**
   * End the channel with `e`: every stream still running is settled with it (a stream ends with its own coded
   * error, never silently), the other side is told the code (unless it told us), and the wire closes.
   */
  private fail(e: unknown, notify: OnepadError | null | undefined = undefined): void {
    if (this.failure) return;
    const err = isOnepadError(e) ? e : new OnepadError('PIPE_BROKEN', { reason: 'channel failed' });
    this.failure = err;
    clearInterval(this.timer);
    const tell = notify === undefined ? err : notify;
    for (const s of [...this.streams.values()]) this.finish(s, err);
    this.control = [];
    this.inQueue.length = 0;
    try {
      if (tell && !this.o.wire.destroyed && this.o.wire.writable) this.o.wire.end(frameNotice(tell.code));
      else this.o.wire.end();
    } catch {
      // the wire is gone already
    }
    setTimeout(() => this.o.wire.destroy(), 2000).unref();
    this.resolveClosed(notify === null && err.code === 'PIPE_BROKEN' ? null : err);
  }
}

/** A stream's error for a log line: its code and details (never data). */
export function describeError(e: OnepadError): string {
  const d: ErrorDetails = e.details;
  const parts = Object.entries(d).map(([k, v]) => `${k}=${v}`);
  return `${e.code}${parts.length ? ` (${parts.join(' ')})` : ''}`;
}
