import type { SectionSchema } from '../device/config/section.js';

/**
 * The `link` config section. Owned by rpc/; placeholder until that area defines its settings.
 */
// biome-ignore lint/complexity/noBannedTypes: no settings yet
export type LinkConfig = {};

export const linkSectionSchema = {
  type: 'object',
  properties: {},
  additionalProperties: false,
  default: {},
} as const satisfies SectionSchema;
