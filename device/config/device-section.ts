import type { SectionSchema } from './section.js';

/** Who this device is. */
export interface DeviceIdentityConfig {
  /** The device's name, shown in the trusted band at the top of every screen and given to peers at pairing. */
  readonly name: string;
  /** A word the owner chose at setup, shown in the trusted band so the owner knows the screen is genuine. */
  readonly ownerWord: string;
  /**
   * True when the device runs on simulated hardware. Simulated entropy is insecure: every pad it makes is
   * marked insecure in the ledger and on every screen.
   */
  readonly simulated: boolean;
}

export const deviceSectionSchema = {
  type: 'object',
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 32, pattern: '^[A-Za-z0-9][A-Za-z0-9 ._-]*$', default: 'onepad' },
    ownerWord: { type: 'string', minLength: 0, maxLength: 24, default: '' },
    simulated: { type: 'boolean', default: false },
  },
  additionalProperties: false,
  default: {},
} as const satisfies SectionSchema;
