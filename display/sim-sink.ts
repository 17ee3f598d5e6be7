import type { IncomingMessage, ServerResponse } from 'node:http';
import { OnepadError } from '../device/errors.js';
import { Listeners } from './input.js';
import { encodePng } from './png.js';
import type { Frame, Sink } from './sink.js';

/**
 * The simulator's sink: keeps a copy of the latest frame and gives it as PNG (encoded on demand, once per
 * frame). The simulator page polls {@link SimSink.handle} or listens with {@link SimSink.onFrame}.
 */
export class SimSink implements Sink {
  readonly width: number;
  readonly height: number;
  private pixels: Uint8ClampedArray | null = null;
  private png: Buffer | null = null;
  private count = 0;
  private closed = false;
  private readonly listeners = new Listeners<number>();

  constructor(width: number, height: number) {
    this.width = width;
    this.height = height;
  }

  /** @throws OnepadError DISPLAY_UNAVAILABLE when the frame is not the sink's size, or the sink is closed */
  async write(frame: Frame): Promise<void> {
    if (this.closed) throw new OnepadError('DISPLAY_UNAVAILABLE', { reason: 'closed' }, 'the simulated sink is closed');
    if (frame.width !== this.width || frame.height !== this.height) {
      throw new OnepadError('DISPLAY_UNAVAILABLE', { reason: 'size' }, 'frame size differs from the sink');
    }
    this.pixels = new Uint8ClampedArray(frame.pixels);
    this.png = null;
    this.count++;
    this.listeners.emit(this.count);
  }

  /** How many frames were written. */
  get frames(): number {
    return this.count;
  }

  /** The latest frame's RGBA pixels, or null before the first frame. */
  latest(): Uint8ClampedArray | null {
    return this.pixels;
  }

  /** The latest frame as PNG, or null before the first frame. */
  latestPng(): Buffer | null {
    if (!this.pixels) return null;
    this.png ??= encodePng(this.pixels, this.width, this.height);
    return this.png;
  }

  /** Called with the frame number after every write. */
  onFrame(listener: (n: number) => void): () => void {
    return this.listeners.add(listener);
  }

  /**
   * A node:http handler for the simulator page: GET /frame.png gives the latest frame (404 before the first),
   * with its number in the `x-frame` header. Binding a server is the simulator's business.
   */
  handle(req: IncomingMessage, res: ServerResponse): void {
    if (req.method === 'GET' && req.url?.split('?')[0] === '/frame.png') this.sendFrame(res);
    else res.writeHead(404, { 'content-type': 'text/plain' }).end('no frame');
  }

  /** Answer with the latest frame as PNG (its number in `x-frame`), or 404 before the first frame. */
  sendFrame(res: ServerResponse): void {
    const png = this.latestPng();
    if (!png) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('no frame');
      return;
    }
    res
      .writeHead(200, { 'content-type': 'image/png', 'cache-control': 'no-store', 'x-frame': String(this.count) })
      .end(png);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.pixels = null;
    this.png = null;
  }
}
