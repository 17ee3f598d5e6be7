/**
 * One pipe connection: a plaintext side (a socket, or stdin/stdout) joined to a wire side (a TCP socket to the
 * other laptop) through the device's session. Outgoing bytes become DATA records, packaged by the device in
 * batches; incoming packages are unpackaged in batches and their records checked for order (client/pipe-frames.ts)
 * before a byte is written out. Any device error, a record out of order, or the wire closing before EOF ends the
 * connection with that error.
 */
import { randomBytes } from 'node:crypto';
import type { Duplex, Readable, Writable } from 'node:stream';
import { OnepadError } from '../device/errors.js';
import { PACKAGE_OVERHEAD } from '../device/wire.js';
import { encodeFrame, FRAME_HEADER, FrameOrder, framePackage, PackageReader, parseFrame } from './pipe-frames.js';
import type { SessionLink } from './pipe-link.js';

/** What a connection is given. */
export interface PipeConnectionOptions {
  readonly link: SessionLink;
  readonly plainIn: Readable;
  readonly plainOut: Writable;
  readonly wire: Duplex;
  /** The side that connected: it picks the connection id and sends OPEN. */
  readonly initiator: boolean;
  /** Most data bytes per record (the frame size minus the header when the session pads). */
  readonly maxData: number;
  /** Most payload bytes per device request. */
  readonly batchBytes?: number;
  /** Device requests in flight at most in each direction (default 2; at most LINK_SOCKETS in all). */
  readonly depth?: number;
}

const HIGH_WATER = 1 << 20;

/**
 * Run one connection until both directions reached EOF (resolves) or anything failed (rejects with a coded
 * OnepadError; both sides are destroyed).
 */
export function runPipeConnection(o: PipeConnectionOptions): Promise<void> {
  const batchBytes = o.batchBytes ?? 192 * 1024;
  const depth = o.depth ?? 2;
  const maxPackage = o.maxData + FRAME_HEADER + PACKAGE_OVERHEAD + 1024 * 1024;
  return new Promise<void>((resolve, reject) => {
    let conn: Uint8Array | null = o.initiator ? randomBytes(8) : null;
    const order = new FrameOrder(o.initiator ? conn : null);
    let seq = 0;
    const pending: Buffer[] = [];
    let pendingBytes = 0;
    let plainEnded = false;
    let sentEof = false;
    let sentOpen = !o.initiator;
    const inQueue: Uint8Array[] = [];
    let failed = false;
    const reader = new PackageReader(maxPackage);

    const fail = (e: unknown) => {
      if (failed) return;
      failed = true;
      o.wire.destroy();
      o.plainIn.destroy();
      if (o.plainOut !== process.stdout) o.plainOut.destroy();
      reject(e instanceof OnepadError ? e : new OnepadError('PIPE_BROKEN', { reason: 'local stream failed' }));
    };
    const maybeDone = () => {
      if (!failed && sentEof && order.done && outQ.length === 0) {
        o.wire.end();
        resolve();
      }
    };

    // Up to `depth` device requests in flight each way; their results are used in the order they were asked for
    // (wire bytes, plaintext), whatever order the device answered in.
    const outQ: { frames: Uint8Array[]; pkgs: Uint8Array[] | null }[] = [];
    const flushOut = () => {
      while (!failed && outQ[0]?.pkgs) {
        const head = outQ.shift() as { frames: Uint8Array[]; pkgs: Uint8Array[] };
        if (head.pkgs.length < head.frames.length) {
          fail(new OnepadError('SESSION_ENDED', { reason: o.link.last?.endReason ?? 'budget' }));
          return;
        }
        o.wire.write(Buffer.concat(head.pkgs.map(framePackage)));
      }
    };
    const pumpOut = () => {
      while (outQ.length < depth && !failed && conn !== null) {
        const frames: Uint8Array[] = [];
        if (!sentOpen) {
          frames.push(encodeFrame({ type: 'OPEN', conn, seq: seq++, data: new Uint8Array(0) }));
          sentOpen = true;
        }
        let taken = 0;
        while (pending.length > 0 && taken < batchBytes) {
          const head = pending[0] as Buffer;
          const n = Math.min(head.length, o.maxData, batchBytes - taken);
          frames.push(encodeFrame({ type: 'DATA', conn, seq: seq++, data: head.subarray(0, n) }));
          taken += n;
          if (n === head.length) pending.shift();
          else pending[0] = head.subarray(n);
        }
        pendingBytes -= taken;
        if (plainEnded && pending.length === 0 && !sentEof) {
          frames.push(encodeFrame({ type: 'EOF', conn, seq: seq++, data: new Uint8Array(0) }));
          sentEof = true;
        }
        if (frames.length === 0) return;
        const slot: { frames: Uint8Array[]; pkgs: Uint8Array[] | null } = { frames, pkgs: null };
        outQ.push(slot);
        if (pendingBytes < HIGH_WATER && o.plainIn.isPaused()) o.plainIn.resume();
        o.link.package(frames).then(
          (pkgs) => {
            for (const f of frames) f.fill(0);
            if (failed) return;
            slot.pkgs = pkgs;
            flushOut();
            pumpOut();
            maybeDone();
          },
          (e) => {
            for (const f of frames) f.fill(0);
            fail(e);
          },
        );
      }
    };

    const inQ: { plain: Uint8Array[] | null }[] = [];
    const flushIn = () => {
      try {
        while (!failed && inQ[0]?.plain) {
          const plain = (inQ.shift() as { plain: Uint8Array[] }).plain;
          for (const pt of plain) {
            const f = parseFrame(pt);
            if (f.type !== 'OPEN' && f.type !== 'DATA' && f.type !== 'EOF') {
              throw new OnepadError('MALFORMED', { reason: 'pipe frame type' });
            }
            order.accept(f);
            if (f.type === 'OPEN' && conn === null) {
              conn = order.connection;
              pumpOut();
            } else if (f.type === 'DATA') o.plainOut.write(Buffer.from(f.data));
            else if (f.type === 'EOF') o.plainOut.end();
            pt.fill(0);
          }
        }
      } catch (e) {
        fail(e);
      }
    };
    const pumpIn = () => {
      while (inQ.length < depth && !failed && inQueue.length > 0) {
        const batch: Uint8Array[] = [];
        let bytes = 0;
        while (inQueue.length > 0 && batch.length < 1024 && bytes < batchBytes) {
          const p = inQueue.shift() as Uint8Array;
          batch.push(p);
          bytes += p.length;
        }
        const slot: { plain: Uint8Array[] | null } = { plain: null };
        inQ.push(slot);
        o.link.unpackage(batch).then(
          (plain) => {
            if (failed) {
              for (const p of plain) p.fill(0);
              return;
            }
            slot.plain = plain;
            flushIn();
            if (failed) return;
            if (inQueue.length < 256 && o.wire.isPaused()) o.wire.resume();
            pumpIn();
            maybeDone();
          },
          (e) => fail(e),
        );
      }
    };

    o.plainIn.on('data', (c: Buffer) => {
      pending.push(c);
      pendingBytes += c.length;
      if (pendingBytes >= HIGH_WATER) o.plainIn.pause();
      pumpOut();
    });
    o.plainIn.on('end', () => {
      plainEnded = true;
      pumpOut();
    });
    o.plainIn.on('error', fail);
    o.plainOut.on('error', fail);
    o.wire.on('data', (c: Buffer) => {
      try {
        inQueue.push(...reader.push(c));
      } catch (e) {
        fail(e);
        return;
      }
      if (inQueue.length >= 1024) o.wire.pause();
      pumpIn();
    });
    o.wire.on('end', () => {
      if (!order.done || inQueue.length > 0 || inQ.length > 0) {
        // Let what arrived be checked first; a stream without its EOF is broken.
        const check = () => {
          if (failed) return;
          if (inQ.length > 0 || inQueue.length > 0) {
            setTimeout(check, 5);
            return;
          }
          if (!order.done) fail(new OnepadError('PIPE_BROKEN', { reason: 'closed before EOF' }));
          else maybeDone();
        };
        check();
      }
    });
    o.wire.on('error', () => fail(new OnepadError('PIPE_BROKEN', { reason: 'connection failed' })));
    o.wire.on('close', () => {
      if (!failed && !(sentEof && order.done) && !o.wire.readableEnded) {
        fail(new OnepadError('PIPE_BROKEN', { reason: 'connection closed' }));
      }
    });
    if (o.initiator) pumpOut();
  });
}
