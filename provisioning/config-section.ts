import type { SectionSchema } from '../device/config/section.js';

/** Pairing two devices over the direct cable. */
export interface PairingConfig {
  /** The network interface of the cable (its IPv6 link-local address is used; nobody types an address). */
  readonly interface: string;
  /** UDP port of the discovery beacons (sent to ff02::1 on the interface). */
  readonly discoveryPort: number;
  /** TCP port the initiator listens on, on its link-local address only. 0 = any free port. */
  readonly port: number;
  /** Pad bytes per committed chunk. */
  readonly chunkBytes: number;
  /** Chunks drawn and committed ahead of the peer's reveals (1 = lock-step; at most 64). */
  readonly window: number;
  /** Largest pad this device makes, in bytes; 0 = as large as the data dir's free space allows (the default). */
  readonly maxPadBytes: number;
  /** How long to look for the peer. */
  readonly discoveryTimeoutMs: number;
  /** How long the peer may stay silent during the transfer. */
  readonly ioTimeoutMs: number;
  /** How long each user has to compare fingerprints and decide. */
  readonly approvalTimeoutMs: number;
  /**
   * Where to ask the system for pairing mode (the image's firewall opens the pairing ports on the cable only while
   * asked, see pairing-mode.ts), or null where nothing needs asking (no such firewall: tests, a laptop).
   */
  readonly modeRequest: string | null;
}

export const pairingSectionSchema = {
  type: 'object',
  properties: {
    interface: { type: 'string', minLength: 1, maxLength: 15, pattern: '^[A-Za-z0-9_.-]+$', default: 'eth0' },
    discoveryPort: { type: 'integer', minimum: 1, maximum: 65535, default: 47_001 },
    port: { type: 'integer', minimum: 0, maximum: 65535, default: 47_002 },
    chunkBytes: { type: 'integer', minimum: 64, maximum: 16_777_216, default: 1_048_576 },
    window: { type: 'integer', minimum: 1, maximum: 64, default: 8 },
    // 0 = as large as the free space allows (device/storage.ts padLimit); any size is capped by it.
    maxPadBytes: {
      type: 'integer',
      anyOf: [{ const: 0 }, { minimum: 66 }],
      maximum: Number.MAX_SAFE_INTEGER,
      default: 0,
    },
    discoveryTimeoutMs: { type: 'integer', minimum: 100, maximum: 3_600_000, default: 120_000 },
    ioTimeoutMs: { type: 'integer', minimum: 100, maximum: 600_000, default: 15_000 },
    approvalTimeoutMs: { type: 'integer', minimum: 1000, maximum: 3_600_000, default: 180_000 },
    modeRequest: { type: ['string', 'null'], pattern: '^/[A-Za-z0-9_./-]+$', maxLength: 255, default: null },
  },
  additionalProperties: false,
  default: {},
} as const satisfies SectionSchema;
