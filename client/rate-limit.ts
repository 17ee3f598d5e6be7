/**
 * A token bucket per sender, in memory: `burst` sends at once, refilled continuously at `perMinute`. Buckets
 * that have refilled completely carry no information and are dropped, and the map never holds more than
 * `maxKeys` buckets (the fullest, i.e. least recently used, go first), so memory stays bounded.
 */
import type { RateConfig } from './relay-config.js';

interface Bucket {
  tokens: number;
  at: number;
}

/** Per-key token buckets with an injected clock. */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly perMs: number;

  constructor(
    private readonly rate: RateConfig,
    private readonly maxKeys = 100_000,
  ) {
    this.perMs = rate.perMinute / 60_000;
  }

  /**
   * Take one token for `key` at time `now`.
   *
   * @returns 0 when allowed, else the milliseconds until one token is available
   */
  take(key: string, now: number): number {
    const b = this.buckets.get(key);
    let tokens = this.rate.burst;
    if (b) tokens = Math.min(this.rate.burst, b.tokens + Math.max(0, now - b.at) * this.perMs);
    if (tokens < 1) {
      if (b) {
        b.tokens = tokens;
        b.at = Math.max(now, b.at);
      }
      return Math.ceil((1 - tokens) / this.perMs);
    }
    // Re-insert so the Map's order is least recently used first.
    this.buckets.delete(key);
    this.buckets.set(key, { tokens: tokens - 1, at: now });
    if (this.buckets.size > this.maxKeys) this.prune(now);
    return 0;
  }

  /** Drop buckets that are full again, then the least recently used beyond `maxKeys`. */
  prune(now: number): void {
    for (const [k, b] of this.buckets) {
      if (b.tokens + Math.max(0, now - b.at) * this.perMs >= this.rate.burst) this.buckets.delete(k);
    }
    for (const k of this.buckets.keys()) {
      if (this.buckets.size <= this.maxKeys) break;
      this.buckets.delete(k);
    }
  }

  /** Buckets held. */
  get size(): number {
    return this.buckets.size;
  }
}
