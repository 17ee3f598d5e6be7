/**
 * A framed connection to the peer device: send frames with backpressure, receive them in order with a timeout.
 * A peer's ABORT frame, a closed or broken socket, and a silent peer all surface as typed errors.
 */
import type { Socket } from 'node:net';
import { OnepadError } from '../device/errors.js';
import { FRAME, type Frame, FrameReader, type FrameType, jsonFrame, parseJson } from './frames.js';

const NAMES = Object.fromEntries(Object.entries(FRAME).map(([k, v]) => [v, k])) as Record<number, string>;

function peerAborted(payload: Uint8Array): OnepadError {
  let reason = 'unknown';
  try {
    reason = String(parseJson(payload).reason ?? 'unknown').slice(0, 40);
  } catch {
    // keep 'unknown'
  }
  return new OnepadError('PAIRING_PEER_ABORTED', { reason }, `the peer aborted: ${reason}`);
}

/** A framed, ordered, timeout-guarded connection. */
export class FrameConnection {
  private readonly socket: Socket;
  private readonly reader: FrameReader;
  private readonly queue: Frame[] = [];
  private waiter: { resolve: (f: Frame) => void; reject: (e: Error) => void } | null = null;
  private failure: OnepadError | null = null;

  /** @param maxPayload - largest frame payload accepted from the peer */
  constructor(socket: Socket, maxPayload: number) {
    this.socket = socket;
    this.reader = new FrameReader(maxPayload);
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => {
      try {
        for (const f of this.reader.push(new Uint8Array(d.buffer, d.byteOffset, d.length))) this.deliver(f);
      } catch (e) {
        this.fail(e instanceof OnepadError ? e : new OnepadError('PAIRING_PROTOCOL'));
        socket.destroy();
      }
    });
    socket.on('error', () =>
      this.fail(new OnepadError('PAIRING_PEER_LOST', { reason: 'socket error' }, 'connection to the peer broke')),
    );
    socket.on('close', () =>
      this.fail(new OnepadError('PAIRING_PEER_LOST', { reason: 'closed' }, 'the peer closed the connection')),
    );
  }

  /** Send one frame; resolves when the socket has taken it (waits for drain under backpressure). */
  async send(frame: Uint8Array): Promise<void> {
    if (this.failure) throw this.failure;
    if (!this.socket.write(frame)) await this.drained();
  }

  /**
   * Send a chunk frame as its header and the chunk's own bytes, without copying them into a frame. The socket
   * keeps a reference to `bytes` until `onWritten` is called: do not change or zero them before.
   *
   * @returns after the socket took both parts; waits for drain when its buffer is over the high-water mark
   */
  async sendChunk(header: Uint8Array, bytes: Uint8Array, onWritten: () => void): Promise<void> {
    if (this.failure) {
      onWritten();
      throw this.failure;
    }
    this.socket.cork();
    this.socket.write(header);
    const ok = this.socket.write(bytes, () => onWritten());
    this.socket.uncork();
    if (!ok) await this.drained();
  }

  private drained(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onDrain = () => {
        this.socket.off('close', onClose);
        resolve();
      };
      const onClose = () => {
        this.socket.off('drain', onDrain);
        reject(this.failure ?? new OnepadError('PAIRING_PEER_LOST'));
      };
      this.socket.once('drain', onDrain);
      this.socket.once('close', onClose);
    });
  }

  /**
   * The next frame, whatever its type (a peer's ABORT excepted).
   * @throws OnepadError PAIRING_TIMEOUT, PAIRING_PEER_ABORTED, PAIRING_PEER_LOST, CANCELLED (the signal)
   */
  async receive(timeoutMs: number, signal?: AbortSignal): Promise<Frame> {
    const f = await this.next(timeoutMs, signal);
    if (f.type === FRAME.ABORT) throw peerAborted(f.payload);
    return f;
  }

  /**
   * The next frame, which must be of type `type`.
   * @throws OnepadError PAIRING_TIMEOUT (nothing within `timeoutMs`), PAIRING_PEER_ABORTED (the peer sent ABORT;
   *   details.reason says why), PAIRING_PEER_LOST, PAIRING_PROTOCOL (another frame type), CANCELLED
   *   (the signal)
   */
  async expect(type: FrameType, timeoutMs: number, signal?: AbortSignal): Promise<Uint8Array> {
    const f = await this.next(timeoutMs, signal);
    if (f.type === FRAME.ABORT) throw peerAborted(f.payload);
    if (f.type !== type) {
      throw new OnepadError(
        'PAIRING_PROTOCOL',
        { expected: NAMES[type] ?? type, got: NAMES[f.type] ?? f.type },
        'unexpected frame',
      );
    }
    return f.payload;
  }

  /** Hand back a received payload once done with it (it is zeroed and reused; see FrameReader.recycle). */
  recycle(payload: Uint8Array): void {
    this.reader.recycle(payload);
  }

  /** Tell the peer why we stop (best effort), then close. */
  async abort(reason: string): Promise<void> {
    if (!this.failure && !this.socket.destroyed) {
      this.socket.write(jsonFrame(FRAME.ABORT, { reason }));
    }
    this.close();
  }

  /** Close the connection and drop buffered bytes. */
  close(): void {
    this.socket.end();
    this.socket.destroySoon();
    this.reader.clear();
    for (const f of this.queue) f.payload.fill(0);
    this.queue.length = 0;
  }

  private next(timeoutMs: number, signal?: AbortSignal): Promise<Frame> {
    const ready = this.queue.shift();
    if (ready) return Promise.resolve(ready);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<Frame>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        reject(new OnepadError('PAIRING_TIMEOUT', { waitedMs: timeoutMs }, 'the peer did not answer in time'));
      }, timeoutMs);
      const onAbort = () => {
        clearTimeout(timer);
        this.waiter = null;
        reject(new OnepadError('CANCELLED', { job: 'pairing' }));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiter = {
        resolve: (f) => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          resolve(f);
        },
        reject: (e) => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      };
    });
  }

  private deliver(f: Frame): void {
    const w = this.waiter;
    if (w) {
      this.waiter = null;
      w.resolve(f);
    } else {
      this.queue.push(f);
    }
  }

  private fail(e: OnepadError): void {
    if (this.failure) return;
    this.failure = e;
    const w = this.waiter;
    this.waiter = null;
    w?.reject(e);
  }
}
