/**
 * The chat client's small local file: own relay name and token, contacts, groups, and the last ref processed
 * per relay. No message text is ever stored. Written atomically (temporary file, fsync, rename) with mode 0600.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { Ajv } from 'ajv';
import { OnepadError } from '../device/errors.js';
import { NAME_PATTERN, TOKEN_PATTERN } from './relay-protocol.js';

/** A contact: the name at the relay, and the contact name of the pad on the device (usually the same). */
export interface Contact {
  readonly device: string;
}

/** What the file holds. */
export interface ChatState {
  readonly version: 1;
  /** This user's name at the relay. */
  readonly name: string;
  /** This name's relay token (a secret of this laptop; the relay keeps only its hash). */
  readonly token: string;
  readonly contacts: Readonly<Record<string, Contact>>;
  readonly groups: Readonly<Record<string, readonly string[]>>;
  /** Last ref processed, per relay origin. */
  readonly lastRef: Readonly<Record<string, number>>;
}

const NAME = { type: 'string', pattern: NAME_PATTERN, maxLength: 64 } as const;
const schema = {
  type: 'object',
  required: ['version', 'name', 'token', 'contacts', 'groups', 'lastRef'],
  additionalProperties: false,
  properties: {
    version: { const: 1 },
    name: NAME,
    token: { type: 'string', pattern: TOKEN_PATTERN },
    contacts: {
      type: 'object',
      propertyNames: NAME,
      additionalProperties: {
        type: 'object',
        required: ['device'],
        additionalProperties: false,
        properties: { device: NAME },
      },
    },
    groups: {
      type: 'object',
      propertyNames: NAME,
      additionalProperties: { type: 'array', items: NAME, minItems: 1, maxItems: 256 },
    },
    lastRef: {
      type: 'object',
      propertyNames: { type: 'string', maxLength: 256 },
      additionalProperties: { type: 'integer', minimum: 0 },
    },
  },
} as const;

const ajv = new Ajv({ strict: true, allErrors: false });
const valid = ajv.compile<ChatState>(schema);

/** True when `name` is a valid relay, contact or group name. */
export function isValidName(name: string): boolean {
  return name.length <= 64 && new RegExp(NAME_PATTERN).test(name);
}

/**
 * Read the state file, or null when it does not exist.
 *
 * @throws OnepadError CHAT_STATE_INVALID when it exists but cannot be read, is not JSON, or fails the schema
 */
export function readState(path: string): ChatState | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return null;
    throw new OnepadError('CHAT_STATE_INVALID', { reason: 'unreadable' });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new OnepadError('CHAT_STATE_INVALID', { reason: 'not JSON' });
  }
  if (!valid(raw)) {
    const field = (valid.errors?.[0]?.instancePath ?? '').replace(/^\//, '') || '(root)';
    throw new OnepadError('CHAT_STATE_INVALID', { reason: 'schema', field: field.slice(0, 64) });
  }
  return raw;
}

/**
 * Write the state atomically: a temporary file in the same directory (mode 0600), fsynced, renamed over.
 *
 * @throws OnepadError CHAT_STATE_INVALID when it cannot be written
 */
export function writeState(path: string, state: ChatState): void {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    rmSync(tmp, { force: true });
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      writeSync(fd, `${JSON.stringify(state, null, 2)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch {
    rmSync(tmp, { force: true });
    throw new OnepadError('CHAT_STATE_INVALID', { reason: 'unwritable' });
  }
}
