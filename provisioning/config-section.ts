import type { SectionSchema } from '../device/config/section.js';

/**
 * The `pairing` config section. Owned by provisioning/; placeholder until that area defines its settings.
 */
// biome-ignore lint/complexity/noBannedTypes: no settings yet
export type PairingConfig = {};

export const pairingSectionSchema = {
  type: 'object',
  properties: {},
  additionalProperties: false,
  default: {},
} as const satisfies SectionSchema;
