/**
 * The shape every config section's JSON schema takes. Each area (engine, link, hrng, display, pairing) owns one
 * section file exporting a schema with defaults for every optional field and `additionalProperties: false`.
 */
export interface SectionSchema {
  readonly type: 'object';
  readonly properties: Readonly<Record<string, unknown>>;
  readonly required?: readonly string[];
  readonly additionalProperties: false;
  readonly default: Readonly<Record<string, unknown>>;
}
