import type { SectionSchema } from '../device/config/section.js';

/** One configured entropy source. */
export interface HrngSourceConfig {
  /** truerng / onerng (USB serial), hwrng (kernel device file), simulated (seeded, insecure). */
  readonly kind: 'truerng' | 'onerng' | 'hwrng' | 'simulated';
  /** Name in logs, events and on screen; '' means the kind. */
  readonly name: string;
  /** Serial port or device file; '' means: find the serial port by USB id, or /dev/hwrng. */
  readonly path: string;
  /** USB id "vvvv:pppp" to find a serial port by; '' means the profile's. */
  readonly usbId: string;
  /** Claimed min-entropy per raw byte in bits; 0 means the profile's conservative default. */
  readonly claimedH: number;
  /** Slowest acceptable rate; 0 means the profile's (a tenth of nominal for serial HRNGs, unwatched otherwise). */
  readonly minBytesPerSecond: number;
  /** OneRNG `cmd0`..`cmd7`: noise source and whitener. */
  readonly onerngMode: number;
  /** Serial baud rate (CDC-ACM devices ignore it). */
  readonly baudRate: number;
  /** Simulated source: the seed of its stream. */
  readonly seed: string;
  /** Simulated source: throttle to this rate; 0 means unthrottled. */
  readonly bytesPerSecond: number;
}

/** The `hrng` config section: sources, health tests, pool. */
export interface HrngConfig {
  /** The sources; all of them must be healthy for filling to go on, and their bytes are XORed. */
  readonly sources: readonly HrngSourceConfig[];
  /** -log2(alpha) of the SP 800-90B health tests' false-positive rate (default 30: alpha = 2^-30). */
  readonly alphaLog2: number;
  /**
   * Largest number of bytes the pool holds (the ring file's size); 0 = as many as the data dir's free space
   * allows. Either way the ring is no larger than what fits beside a pad of its size (device/storage.ts).
   */
  readonly poolMaxBytes: number;
  /** Bytes per pool append; each chunk is synced before it is counted. */
  readonly chunkBytes: number;
  /** A source with a read pending longer than this is stalled (filling stops, latched). */
  readonly stallTimeoutMs: number;
  /** Window over which each source's rate is compared with its minimum. */
  readonly rateWindowMs: number;
}

const sourceSchema = {
  type: 'object',
  properties: {
    kind: { type: 'string', enum: ['truerng', 'onerng', 'hwrng', 'simulated'], default: 'hwrng' },
    name: { type: 'string', maxLength: 32, pattern: '^[A-Za-z0-9._-]*$', default: '' },
    path: { type: 'string', maxLength: 4096, default: '' },
    usbId: { type: 'string', pattern: '^([0-9a-fA-F]{4}:[0-9a-fA-F]{4})?$', default: '' },
    claimedH: { type: 'number', minimum: 0, maximum: 8, default: 0 },
    minBytesPerSecond: { type: 'integer', minimum: 0, default: 0 },
    onerngMode: { type: 'integer', minimum: 0, maximum: 7, default: 0 },
    baudRate: { type: 'integer', minimum: 50, maximum: 4000000, default: 115200 },
    seed: { type: 'string', maxLength: 256, default: 'onepad-demo' },
    bytesPerSecond: { type: 'integer', minimum: 0, default: 0 },
  },
  additionalProperties: false,
  default: {},
} as const;

export const hrngSectionSchema = {
  type: 'object',
  properties: {
    sources: { type: 'array', items: sourceSchema, minItems: 1, maxItems: 8, default: [{ kind: 'hwrng' }] },
    alphaLog2: { type: 'integer', minimum: 20, maximum: 40, default: 30 },
    // 0 = as large as the data dir's storage holds (device/storage.ts poolLimit); any size is capped by it.
    poolMaxBytes: {
      type: 'integer',
      anyOf: [{ const: 0 }, { minimum: 4096 }],
      maximum: Number.MAX_SAFE_INTEGER,
      default: 16777216,
    },
    chunkBytes: { type: 'integer', minimum: 512, maximum: 16777216, default: 65536 },
    stallTimeoutMs: { type: 'integer', minimum: 100, maximum: 600000, default: 10000 },
    rateWindowMs: { type: 'integer', minimum: 100, maximum: 600000, default: 10000 },
  },
  additionalProperties: false,
  default: {},
} as const satisfies SectionSchema;
