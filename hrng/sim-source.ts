import { chacha20 } from '@noble/ciphers/chacha.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { OnepadError } from '../device/errors.js';
import { sleepUnlessAborted } from '../device/sleep.js';
import type { RawSource } from './source.js';

/** Settings of a simulated source. */
export interface SimSourceOptions {
  /** Any string; the same seed gives the same stream. */
  readonly seed: string;
  readonly name?: string;
  /** Claimed min-entropy per byte (default 8: the stream is a cipher keystream). */
  readonly claimedH?: number;
  /** Throttle to about this many bytes per second (0 = unthrottled). */
  readonly bytesPerSecond?: number;
  /** Slowest acceptable rate for the filler's watchdog (default 0 = not watched). */
  readonly minBytesPerSecond?: number;
  /** Largest chunk one read returns (default 4096). */
  readonly chunk?: number;
}

/** Bytes of keystream made per ChaCha20 call. */
const BLOCK = 64 * 1024;

/**
 * The deterministic keystream of a seed: ChaCha20 keyed by SHA-256("onepad-sim-hrng" || seed), zero nonce,
 * counter from 0. Tests compare pool contents against it.
 */
export class SimStream {
  private readonly key: Uint8Array;
  private readonly nonce = new Uint8Array(12);
  private counter = 0;
  private buf = new Uint8Array(0);
  private pos = 0;

  constructor(seed: string) {
    this.key = sha256(new TextEncoder().encode(`onepad-sim-hrng\u0000${seed}`));
  }

  /** The next `n` bytes of the stream. */
  next(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let o = 0;
    while (o < n) {
      if (this.pos === this.buf.length) {
        this.buf = chacha20(this.key, this.nonce, new Uint8Array(BLOCK), undefined, this.counter);
        this.counter += BLOCK / 64;
        this.pos = 0;
      }
      const k = Math.min(n - o, this.buf.length - this.pos);
      out.set(this.buf.subarray(this.pos, this.pos + k), o);
      this.pos += k;
      o += k;
    }
    return out;
  }
}

/**
 * A simulated source: a seeded ChaCha20 keystream. Insecure by definition: whatever it fills is marked insecure.
 *
 * @example
 * const src = new SimSource({ seed: 'demo' });
 */
export class SimSource implements RawSource {
  readonly name: string;
  readonly kind = 'simulated' as const;
  readonly insecure = true;
  readonly claimedH: number;
  readonly minBytesPerSecond: number;
  private readonly stream: SimStream;
  private readonly rate: number;
  private readonly chunk: number;
  private opened = false;
  private closed = false;
  private readonly aborter = new AbortController();

  constructor(opts: SimSourceOptions) {
    this.name = opts.name ?? 'sim';
    this.claimedH = opts.claimedH ?? 8;
    this.minBytesPerSecond = opts.minBytesPerSecond ?? 0;
    this.rate = opts.bytesPerSecond ?? 0;
    this.chunk = opts.chunk ?? 4096;
    if (!Number.isInteger(this.chunk) || this.chunk < 1) throw new RangeError('chunk must be a positive integer');
    this.stream = new SimStream(opts.seed);
  }

  async open(): Promise<void> {
    this.opened = true;
  }

  async read(max: number): Promise<Uint8Array> {
    if (!this.opened || this.closed) throw lost(this.name, true);
    const n = Math.max(1, Math.min(max, this.chunk));
    if (this.rate > 0) {
      await sleepUnlessAborted((n / this.rate) * 1000, this.aborter.signal);
      if (this.closed) throw lost(this.name, true);
    }
    return this.stream.next(n);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.aborter.abort();
  }

  info(): Readonly<Record<string, string | number | boolean>> {
    return { kind: 'simulated', insecure: true, bytesPerSecond: this.rate };
  }
}

function lost(source: string, canceled: boolean): OnepadError {
  return new OnepadError('HRNG_SOURCE_LOST', { source, canceled });
}
