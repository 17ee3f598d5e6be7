/**
 * The link protocol: the two calls, their JSON shapes (TypeScript types for the client, JSON schemas for the
 * server's routes), and the limits derived from the config. docs/RPC.md describes it for people.
 */
import type { ErrorCode, ErrorDetails } from '../device/errors.js';
import { PACKAGE_OVERHEAD } from '../device/wire.js';
import {
  openSessionResponseSchema,
  sessionPackageProperties,
  sessionPackageResponseSchema,
  sessionUnpackageProperties,
  sessionUnpackageResponseSchema,
} from './pipe-protocol.js';

/** `POST /package`: exactly one of `text` (UTF-8) or `bytes` (base64). */
export type PackageRequest = { readonly contact: string } & (
  | { readonly text: string; readonly bytes?: never }
  | { readonly bytes: string; readonly text?: never }
);

/** Pad accounting every successful answer carries. */
export interface RemainingJson {
  readonly remaining: number;
  readonly maxMessageLength: number;
  readonly messagesLeft: number;
}

/** The answer to `POST /package`. */
export interface PackageResponse extends RemainingJson {
  /** The package, base64. */
  readonly package: string;
  readonly contact: string;
  readonly padId: string;
  readonly cost: number;
  readonly insecure: boolean;
}

/** `POST /unpackage`. */
export interface UnpackageRequest {
  /** The package, base64. */
  readonly package: string;
}

/** The answer to `POST /unpackage`. */
export interface UnpackageResponse extends RemainingJson {
  readonly contact: string;
  readonly padId: string;
  /** Plaintext length in bytes. */
  readonly length: number;
  /** The plaintext when it is valid UTF-8, else null. */
  readonly text: string | null;
  /** The plaintext as base64 when it is not valid UTF-8, else null. */
  readonly bytes: string | null;
  /** Private receive is on: the plaintext was shown on the device's screen only (text and bytes are null). */
  readonly shownOnDeviceOnly: boolean;
  /** Ranges of the sender's region this package shows were skipped (messages missing, maybe late). */
  readonly gaps: readonly { readonly start: number; readonly end: number }[];
  /** This package filled part of an earlier gap. */
  readonly late: boolean;
  readonly insecure: boolean;
}

/** Every error answer. */
export interface ErrorResponse {
  readonly error: { readonly code: ErrorCode; readonly message: string; readonly details: ErrorDetails };
}

/** Limits of one server, derived from the config. */
export interface ProtocolLimits {
  /** Longest plaintext in bytes (engine.maxMessageLength). */
  readonly maxMessageLength: number;
  /** Longest `text` in code points (a code point is at least one UTF-8 byte). */
  readonly maxTextLength: number;
  /** Longest base64 `bytes` field. */
  readonly maxBytesBase64: number;
  /** Longest base64 `package` field. */
  readonly maxPackageBase64: number;
  /** Body limit: the largest legitimate body (a text of control characters, each escaped as \u00XX). */
  readonly bodyLimit: number;
}

/** Length of the base64 encoding of `n` bytes. */
export function base64Length(n: number): number {
  return Math.ceil(n / 3) * 4;
}

/** The limits for a given `engine.maxMessageLength`. */
export function protocolLimits(maxMessageLength: number): ProtocolLimits {
  return {
    maxMessageLength,
    maxTextLength: maxMessageLength,
    maxBytesBase64: base64Length(maxMessageLength),
    maxPackageBase64: base64Length(maxMessageLength + PACKAGE_OVERHEAD),
    bodyLimit: 6 * maxMessageLength + 1024,
  };
}

const BASE64 = '^[A-Za-z0-9+/]*={0,2}$';
/** A contact name, as the engine accepts it (device/engine.ts CONTACT_RE). */
const CONTACT = {
  type: 'string',
  minLength: 1,
  maxLength: 64,
  pattern: '^[A-Za-z0-9][A-Za-z0-9 ._@-]{0,63}$',
} as const;

const remainingProps = {
  remaining: { type: 'number' },
  maxMessageLength: { type: 'number' },
  messagesLeft: { type: 'number' },
} as const;

/** The JSON schema of every error answer. */
export const errorResponseSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message', 'details'],
      properties: {
        code: { type: 'string', minLength: 1, maxLength: 64 },
        message: { type: 'string' },
        details: { type: 'object', additionalProperties: { type: ['string', 'number', 'boolean', 'null'] } },
      },
      additionalProperties: false,
    },
  },
  additionalProperties: false,
} as const;

/** The JSON schema of a `POST /package` answer. */
export const packageResponseSchema = {
  type: 'object',
  required: ['package', 'contact', 'padId', 'cost', 'insecure', 'remaining', 'maxMessageLength', 'messagesLeft'],
  properties: {
    package: { type: 'string' },
    contact: { type: 'string' },
    padId: { type: 'string' },
    cost: { type: 'number' },
    insecure: { type: 'boolean' },
    ...remainingProps,
  },
  additionalProperties: false,
} as const;

/** The JSON schema of a `POST /unpackage` answer. */
export const unpackageResponseSchema = {
  type: 'object',
  required: [
    'contact',
    'padId',
    'length',
    'text',
    'bytes',
    'shownOnDeviceOnly',
    'gaps',
    'late',
    'insecure',
    'remaining',
    'maxMessageLength',
    'messagesLeft',
  ],
  properties: {
    contact: { type: 'string' },
    padId: { type: 'string' },
    length: { type: 'number' },
    text: { type: ['string', 'null'] },
    bytes: { type: ['string', 'null'] },
    shownOnDeviceOnly: { type: 'boolean' },
    gaps: {
      type: 'array',
      items: {
        type: 'object',
        required: ['start', 'end'],
        properties: { start: { type: 'number' }, end: { type: 'number' } },
        additionalProperties: false,
      },
    },
    late: { type: 'boolean' },
    insecure: { type: 'boolean' },
    ...remainingProps,
  },
  additionalProperties: false,
} as const;

/** Route schemas for `POST /package`. */
export function packageRouteSchema(limits: ProtocolLimits) {
  return {
    body: {
      type: 'object',
      required: ['contact'],
      properties: {
        contact: CONTACT,
        text: { type: 'string', minLength: 1, maxLength: limits.maxTextLength },
        bytes: { type: 'string', minLength: 4, maxLength: limits.maxBytesBase64, pattern: BASE64 },
        ...sessionPackageProperties(limits.maxBytesBase64),
      },
      // A message (text or bytes), a session to open, or frames of a running session (rpc/pipe-protocol.ts).
      oneOf: [{ required: ['text'] }, { required: ['bytes'] }, { required: ['session'] }, { required: ['sessionId'] }],
      dependencies: { frames: ['sessionId'], end: ['sessionId'], sessionId: ['frames'] },
      additionalProperties: false,
    },
    response: {
      200: { anyOf: [packageResponseSchema, openSessionResponseSchema, sessionPackageResponseSchema] },
      '4xx': errorResponseSchema,
      '5xx': errorResponseSchema,
    },
  } as const;
}

/** Route schemas for `POST /unpackage`. */
export function unpackageRouteSchema(limits: ProtocolLimits) {
  return {
    body: {
      type: 'object',
      properties: {
        package: { type: 'string', minLength: 1, maxLength: limits.maxPackageBase64, pattern: BASE64 },
        ...sessionUnpackageProperties(limits.maxPackageBase64),
      },
      // One package, or packages of a running session (rpc/pipe-protocol.ts).
      oneOf: [{ required: ['package'] }, { required: ['sessionId', 'packages'] }],
      dependencies: { packages: ['sessionId'] },
      additionalProperties: false,
    },
    response: {
      200: { anyOf: [unpackageResponseSchema, sessionUnpackageResponseSchema] },
      '4xx': errorResponseSchema,
      '5xx': errorResponseSchema,
    },
  } as const;
}
