import type { SectionSchema } from './section.js';

/** Pad engine settings. */
export interface EngineConfig {
  /** Overwrite every used segment (sent and received) and sync before replying. On by default. */
  readonly burn: boolean;
  /** The message length used to say "about how many messages" are left. */
  readonly typicalMessageLength: number;
  /** The longest plaintext the device packages, in bytes. */
  readonly maxMessageLength: number;
  /** How many security events the event log keeps (oldest dropped first). */
  readonly eventLogMax: number;
  /** Warn (event, screen) when a pad's own region has fewer bytes left than this. */
  readonly lowPadWarningBytes: number;
}

export const engineSectionSchema = {
  type: 'object',
  properties: {
    burn: { type: 'boolean', default: true },
    typicalMessageLength: { type: 'integer', minimum: 1, maximum: 1048576, default: 160 },
    maxMessageLength: { type: 'integer', minimum: 1, maximum: 16777216, default: 65536 },
    eventLogMax: { type: 'integer', minimum: 100, maximum: 10000000, default: 10000 },
    lowPadWarningBytes: { type: 'integer', minimum: 0, default: 65536 },
  },
  additionalProperties: false,
  default: {},
} as const satisfies SectionSchema;
