/**
 * The public shapes of the pad engine (device/engine.ts), which rpc/ wraps and the CLI and display use.
 */
import type { Side } from './wire.js';

/** A half-open byte range [start, end) of a pad. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/** How much of a pad's own region is left, in the form every reply carries. */
export interface PadRemaining {
  /** Bytes left in this device's own region of the pad. */
  readonly remaining: number;
  /** The longest message that still fits (remaining - 32, or 0). */
  readonly maxMessageLength: number;
  /** About how many messages of the configured typical length still fit. */
  readonly messagesLeft: number;
}

/** The result of packaging one message. */
export interface PackageResult extends PadRemaining {
  /** The package bytes to hand to the laptop. */
  readonly package: Uint8Array;
  readonly contact: string;
  /** Hex pad id. */
  readonly padId: string;
  /** Pad bytes this message used (L + 32). */
  readonly cost: number;
  /** The pad's entropy was simulated or seeded. */
  readonly insecure: boolean;
}

/** The result of unpackaging one package. */
export interface UnpackageResult extends PadRemaining {
  /** The contact the package came from. */
  readonly contact: string;
  readonly padId: string;
  /** The plaintext; null when private receive is on (it was shown on the device's screen only). */
  readonly plaintext: Uint8Array | null;
  /** Length of the plaintext in bytes. */
  readonly length: number;
  /** Ranges of the peer's region this package shows were skipped (messages not received, maybe later). */
  readonly gaps: readonly ByteRange[];
  /** True when this package filled part of an earlier gap (it arrived out of order). */
  readonly late: boolean;
  readonly insecure: boolean;
}

/** One pad as the ledger holds it (no pad bytes). */
export interface PadRecord {
  readonly padId: string;
  readonly contact: string;
  readonly side: Side;
  readonly size: number;
  readonly split: number;
  readonly cursor: number;
  readonly state: 'active' | 'exhausted' | 'retired';
  readonly insecure: boolean;
  readonly createdAt: number;
}

/** A pad with what is left of this device's region. */
export interface PadInfo extends PadRecord, PadRemaining {}
