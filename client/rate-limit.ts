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
   * Take `cost` tokens (one send, or a package's bytes) for `key` at time `now`; nothing is taken when refused.
   *
   * @returns 0 when allowed, else the milliseconds until `cost` tokens are available
   */
  take(key: string, now: number, cost = 1): number {
    const b = this.buckets.get(key);
    let tokens = this.rate.burst;
    if (b) tokens = Math.min(this.rate.burst, b.tokens + Math.max(0, now - b.at) * this.perMs);
    if (tokens < cost) {
      if (b) {
        b.tokens = tokens;
        b.at = Math.max(now, b.at);
      }
      return Math.ceil((cost - tokens) / this.perMs);
    }
    // Re-insert so the Map's order is least recently used first.
    this.buckets.delete(key);
    this.buckets.set(key, { tokens: tokens - cost, at: now });
    if (this.buckets.size > this.maxKeys) this.prune(now);
    return 0;
  }

  /** The milliseconds until `cost` tokens are available for `key` (0: now), taking nothing. */
  peek(key: string, now: number, cost = 1): number {
    const b = this.buckets.get(key);
    if (!b) return cost <= this.rate.burst ? 0 : Number.POSITIVE_INFINITY;
    const tokens = Math.min(this.rate.burst, b.tokens + Math.max(0, now - b.at) * this.perMs);
    return tokens >= cost ? 0 : Math.ceil((cost - tokens) / this.perMs);
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

/**
 * A token bucket per source and one per IPv6 site (`siteFactor` times the rate and burst), taken together: a
 * request is allowed only when both have room, and then both pay.
 */
export class SourceRateLimiter {
  private readonly source: RateLimiter;
  private readonly site: RateLimiter;

  constructor(rate: RateConfig, siteFactor: number, maxKeys = 100_000) {
    this.source = new RateLimiter(rate, maxKeys);
    this.site = new RateLimiter({ burst: rate.burst * siteFactor, perMinute: rate.perMinute * siteFactor }, maxKeys);
  }

  /** The milliseconds until `cost` fits for `keys` (0: now), taking nothing; `site` when the site is the limit. */
  peek(keys: { source: string; site?: string }, now: number, cost = 1): { wait: number; site: boolean } {
    const own = this.source.peek(keys.source, now, cost);
    const site = keys.site === undefined ? 0 : this.site.peek(keys.site, now, cost);
    return { wait: Math.max(own, site), site: site > own };
  }

  /** Take `cost` for the source and its site when both have room; nothing is taken when either refuses. */
  take(keys: { source: string; site?: string }, now: number, cost = 1): { wait: number; site: boolean } {
    const p = this.peek(keys, now, cost);
    if (p.wait > 0) return p;
    const own = this.source.take(keys.source, now, cost);
    if (own > 0) return { wait: own, site: false };
    if (keys.site !== undefined) this.site.take(keys.site, now, cost);
    return p;
  }

  prune(now: number): void {
    this.source.prune(now);
    this.site.prune(now);
  }
}
