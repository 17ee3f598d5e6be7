import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import type { DisplayConfig } from '../../display/config-section.js';
import { displaySectionSchema } from '../../display/config-section.js';
import type { HrngConfig } from '../../hrng/config-section.js';
import { hrngSectionSchema } from '../../hrng/config-section.js';
import type { PairingConfig } from '../../provisioning/config-section.js';
import { pairingSectionSchema } from '../../provisioning/config-section.js';
import type { LinkConfig } from '../../rpc/config-section.js';
import { linkSectionSchema } from '../../rpc/config-section.js';
import { OnepadError } from '../errors.js';
import { type ConfirmConfig, confirmSectionSchema } from './confirm-section.js';
import { type DeviceIdentityConfig, deviceSectionSchema } from './device-section.js';
import { type EngineConfig, engineSectionSchema } from './engine-section.js';

/** The whole configuration: validated once at startup, defaults filled in, then deep-frozen. */
export interface Config {
  /** Directory holding the ledger, pad files and pool. Created with mode 0700. */
  readonly dataDir: string;
  readonly device: DeviceIdentityConfig;
  readonly engine: EngineConfig;
  readonly confirm: ConfirmConfig;
  readonly link: LinkConfig;
  readonly hrng: HrngConfig;
  readonly display: DisplayConfig;
  readonly pairing: PairingConfig;
}

/** The JSON schema of the config file. Every section is optional and filled from its defaults. */
export const configSchema = {
  type: 'object',
  properties: {
    dataDir: { type: 'string', minLength: 1 },
    device: deviceSectionSchema,
    engine: engineSectionSchema,
    confirm: confirmSectionSchema,
    link: linkSectionSchema,
    hrng: hrngSectionSchema,
    display: displaySectionSchema,
    pairing: pairingSectionSchema,
  },
  required: ['dataDir'],
  additionalProperties: false,
} as const;

const ajv = new Ajv({ allErrors: false, useDefaults: true, strict: true, allowUnionTypes: true });
const validate = ajv.compile(configSchema);

function fieldOf(err: ErrorObject): string {
  const base = err.instancePath.replace(/^\//, '').replaceAll('/', '.');
  if (err.keyword === 'additionalProperties') {
    const extra = (err.params as { additionalProperty: string }).additionalProperty;
    return base ? `${base}.${extra}` : extra;
  }
  if (err.keyword === 'required') {
    const missing = (err.params as { missingProperty: string }).missingProperty;
    return base ? `${base}.${missing}` : missing;
  }
  return base || '(root)';
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/**
 * Validate a parsed config object, fill in defaults, resolve `dataDir` against `baseDir`, and deep-freeze it.
 *
 * @param raw - the parsed JSON (not modified; a copy is validated)
 * @param baseDir - directory a relative `dataDir` is resolved against (the config file's directory)
 * @throws OnepadError CONFIG_INVALID naming the first bad field in `details.field`
 */
export function parseConfig(raw: unknown, baseDir = process.cwd()): Config {
  const copy: unknown = raw === undefined ? raw : structuredClone(raw);
  if (!validate(copy)) {
    const err = validate.errors?.[0];
    const field = err ? fieldOf(err) : '(root)';
    const reason = err?.message ?? 'invalid';
    throw new OnepadError('CONFIG_INVALID', { field, reason }, `${field} ${reason}`);
  }
  const cfg = copy as unknown as { dataDir: string };
  cfg.dataDir = resolve(baseDir, cfg.dataDir);
  return deepFreeze(cfg as unknown as Config);
}

/**
 * Read, validate and freeze a JSON config file.
 *
 * @throws OnepadError CONFIG_INVALID when the file cannot be read, is not JSON, or fails the schema
 */
export function loadConfig(path: string): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new OnepadError('CONFIG_INVALID', { field: '(file)', reason: 'unreadable' }, `cannot read ${path}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new OnepadError('CONFIG_INVALID', { field: '(file)', reason: 'not JSON' }, `${path} is not JSON`);
  }
  return parseConfig(raw, resolve(path, '..'));
}
