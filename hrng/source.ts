/**
 * The raw byte source interface. Every entropy source (serial USB HRNG, kernel hwrng, simulated) implements it,
 * and the filler only ever sees this interface.
 *
 * Contract (test/hrng/source-contract.test.ts runs it against every implementation):
 * - `open()` must be called once before `read()`; it performs any device start-up (commands, DTR).
 * - `read(max)` resolves with at least 1 and at most `max` raw bytes, in a fresh array the caller owns. The
 *   bytes are raw: no whitening, hashing or stretching is done here.
 * - When the device goes away (unplugged, EOF, I/O error) `read` rejects with OnepadError HRNG_SOURCE_LOST.
 * - `close()` is idempotent; a read in progress when the source is closed rejects with HRNG_SOURCE_LOST with
 *   `details.canceled = true`.
 * - A source never logs or exposes its bytes anywhere but through `read`.
 */

/** A raw entropy source. */
export interface RawSource {
  /** Short name for logs and the display, e.g. "truerng", "hwrng", "sim". Never contains bytes. */
  readonly name: string;
  /** What kind of device it is. */
  readonly kind: SourceKind;
  /**
   * True when the bytes are not real entropy (simulated or seeded). Sticky downstream: any pool range filled
   * with such bytes is marked insecure.
   */
  readonly insecure: boolean;
  /** Claimed min-entropy per raw byte, in bits (0 < h <= 8), used by the health tests. */
  readonly claimedH: number;
  /** Expected lowest sustained rate, bytes per second; slower than this is a fault (0 = not watched). */
  readonly minBytesPerSecond: number;
  /**
   * Start the device.
   * @throws OnepadError HRNG_SOURCE_UNAVAILABLE when it cannot be opened
   */
  open(): Promise<void>;
  /**
   * Read between 1 and `max` raw bytes.
   * @throws OnepadError HRNG_SOURCE_LOST when the device is gone or the source was closed
   */
  read(max: number): Promise<Uint8Array>;
  /** Stop the device and release it. Never throws. */
  close(): Promise<void>;
  /** Non-secret facts about the opened device (path, profile, DTR), for `hrng test`. */
  info(): Readonly<Record<string, string | number | boolean>>;
}

export type SourceKind = 'truerng' | 'onerng' | 'hwrng' | 'simulated';
