/**
 * The public shapes of the pad engine (device/engine.ts), which rpc/ wraps and the CLI and display use.
 */
import type { SessionView } from './confirm.js';
import type { Side } from './wire.js';

/** A half-open byte range [start, end) of a pad. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/** How much of a pad's own region is left, in the form every reply carries. */
export interface PadRemaining {
  /** Pad bytes this device can still send with: unused key slots (32 bytes each) plus unused stream bytes; 0 once
   * either runs out. */
  readonly remaining: number;
  /** The longest message that still fits: the stream bytes left, or 0 when no key slot is left. */
  readonly maxMessageLength: number;
  /** About how many messages of the configured typical length still fit: the fewer of the key slots left and
   * the stream left divided by the typical length. */
  readonly messagesLeft: number;
  /** Unused key slots: at most this many more messages, however short. */
  readonly keySlotsLeft: number;
  /** Unused stream bytes: at most this many more message bytes in all. */
  readonly streamLeft: number;
}

/** The result of packaging one message. */
export interface PackageResult extends PadRemaining {
  /** The package bytes to hand to the laptop. */
  readonly package: Uint8Array;
  readonly contact: string;
  /** Hex pad id. */
  readonly padId: string;
  /** Pad bytes this message used (L + 32: one key slot and L stream bytes). */
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
  /** Ranges of the peer's stream area this package shows were skipped (messages not received, maybe later). */
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
  /** A's region is [0, split), B's [split, size). */
  readonly split: number;
  /** This side's stream cursor: A's next stream byte (forward), B's stream end (backward). */
  readonly cursor: number;
  readonly state: 'active' | 'exhausted' | 'retired';
  readonly insecure: boolean;
  readonly createdAt: number;
  /** The wire format the pad was installed for: 2; a pad from before v2 (1) neither sends nor receives. */
  readonly wireVersion: number;
  /** Key slots of A's and of B's key area (device/layout.ts), the same in both devices' ledgers. */
  readonly keySlotsA: number;
  readonly keySlotsB: number;
  /** The index of this side's next message: its key slot. */
  readonly sendIndex: number;
}

/** A pad with what is left of this device's region. */
export interface PadInfo extends PadRecord, PadRemaining {}

/** What a laptop asks for when it opens a pipe session (the owner may change budget and time on screen). */
export interface SessionAsk {
  /** Pad bytes the session may use (key slots and key stream, whole chunks). */
  readonly budgetBytes: number;
  readonly timeLimitSec: number;
  /** Pad every frame to this many bytes (costs frameSize + 32 pad bytes per frame), or null. */
  readonly frameSize: number | null;
}

/** The result of packaging frames in a session: one wire v2 package per frame that fitted, in order. */
export interface SessionPackageResult {
  readonly packages: Uint8Array[];
  readonly session: SessionView;
}

/** One frame unpackaged in a session. */
export interface SessionFrame {
  readonly plaintext: Uint8Array;
  readonly gaps: readonly ByteRange[];
  readonly late: boolean;
}

/** The result of unpackaging packages in a session, in the order given. */
export interface SessionUnpackageResult {
  readonly frames: SessionFrame[];
  readonly session: SessionView;
}
