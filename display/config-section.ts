import type { SectionSchema } from '../device/config/section.js';

/**
 * The `display` config section. Owned by display/; placeholder until that area defines its settings.
 */
// biome-ignore lint/complexity/noBannedTypes: no settings yet
export type DisplayConfig = {};

export const displaySectionSchema = {
  type: 'object',
  properties: {},
  additionalProperties: false,
  default: {},
} as const satisfies SectionSchema;
