import type { SectionSchema } from '../device/config/section.js';

/**
 * The `hrng` config section. Owned by hrng/; placeholder until that area defines its settings.
 */
// biome-ignore lint/complexity/noBannedTypes: no settings yet
export type HrngConfig = {};

export const hrngSectionSchema = {
  type: 'object',
  properties: {},
  additionalProperties: false,
  default: {},
} as const satisfies SectionSchema;
