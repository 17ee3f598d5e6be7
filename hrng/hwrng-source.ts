import { type FileHandle, open } from 'node:fs/promises';
import { OnepadError } from '../device/errors.js';
import type { RawSource } from './source.js';

/** Settings of the kernel hwrng source. */
export interface HwrngSourceOptions {
  /** The device file, /dev/hwrng by default (tests point it at a FIFO or a file). */
  readonly path?: string;
  readonly name?: string;
  /** Claimed min-entropy per byte (default 4, conservative for the Pi's on-chip RNG). */
  readonly claimedH?: number;
  readonly minBytesPerSecond?: number;
  /** Largest read (default 4096). */
  readonly chunk?: number;
}

/**
 * The kernel's hardware RNG character device (bcm2835-rng on a Pi), read as a plain file. End of file or an
 * I/O error means the source is lost.
 */
export class HwrngSource implements RawSource {
  readonly name: string;
  readonly kind = 'hwrng' as const;
  readonly insecure = false;
  readonly claimedH: number;
  readonly minBytesPerSecond: number;
  readonly path: string;
  private readonly chunk: number;
  private fh: FileHandle | null = null;
  private closed = false;
  private cancel: ((e: Error) => void) | null = null;

  constructor(opts: HwrngSourceOptions = {}) {
    this.path = opts.path ?? '/dev/hwrng';
    this.name = opts.name ?? 'hwrng';
    this.claimedH = opts.claimedH ?? 4;
    this.minBytesPerSecond = opts.minBytesPerSecond ?? 0;
    this.chunk = opts.chunk ?? 4096;
  }

  /** @throws OnepadError HRNG_SOURCE_UNAVAILABLE when the file cannot be opened */
  async open(): Promise<void> {
    try {
      this.fh = await open(this.path, 'r');
    } catch (e) {
      throw new OnepadError(
        'HRNG_SOURCE_UNAVAILABLE',
        { source: this.name, reason: (e as NodeJS.ErrnoException).code ?? 'open failed' },
        `cannot open ${this.path}`,
      );
    }
  }

  /** @throws OnepadError HRNG_SOURCE_LOST on end of file, I/O error or close */
  async read(max: number): Promise<Uint8Array> {
    const fh = this.fh;
    if (!fh || this.closed) throw new OnepadError('HRNG_SOURCE_LOST', { source: this.name, canceled: true });
    const buf = new Uint8Array(Math.max(1, Math.min(max, this.chunk)));
    const canceled = new Promise<never>((_, reject) => {
      this.cancel = reject;
    });
    try {
      const { bytesRead } = await Promise.race([fh.read(buf, 0, buf.length, null), canceled]);
      if (bytesRead === 0) throw new OnepadError('HRNG_SOURCE_LOST', { source: this.name, reason: 'end of file' });
      return bytesRead === buf.length ? buf : buf.slice(0, bytesRead);
    } catch (e) {
      if (e instanceof OnepadError) throw e;
      throw new OnepadError('HRNG_SOURCE_LOST', {
        source: this.name,
        reason: (e as NodeJS.ErrnoException).code ?? 'read failed',
      });
    } finally {
      this.cancel = null;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.cancel?.(new OnepadError('HRNG_SOURCE_LOST', { source: this.name, canceled: true }));
    // A read blocked in the kernel (an idle FIFO) would hold close() until it returns: do not wait for it.
    this.fh?.close().catch(() => {});
    this.fh = null;
  }

  info(): Readonly<Record<string, string | number | boolean>> {
    return { kind: 'hwrng', path: this.path };
  }
}
