import type { SectionSchema } from './section.js';

/** The confirmation queue: one request on screen, a bounded FIFO behind it, a timeout that denies. */
export interface ConfirmConfig {
  /** How long a request may wait for the user on screen before it is denied with CONFIRM_TIMEOUT. */
  readonly timeoutMs: number;
  /** How many requests may wait behind the one on screen; the next one gets BUSY. */
  readonly queueLength: number;
  /** Ask the user before decrypting a received package too (confirm-decrypt screen). */
  readonly confirmDecrypt: boolean;
  /** Show received plaintext on the device's screen only and never return it to the laptop. */
  readonly privateReceive: boolean;
}

export const confirmSectionSchema = {
  type: 'object',
  properties: {
    timeoutMs: { type: 'integer', minimum: 1000, maximum: 3600000, default: 60000 },
    queueLength: { type: 'integer', minimum: 0, maximum: 64, default: 4 },
    confirmDecrypt: { type: 'boolean', default: false },
    privateReceive: { type: 'boolean', default: false },
  },
  additionalProperties: false,
  default: {},
} as const satisfies SectionSchema;
