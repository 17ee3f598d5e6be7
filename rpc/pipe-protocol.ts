/**
 * The link protocol's pipe sessions (docs/PIPE.md): still `POST /package` and `POST /unpackage`, with a session
 * in the request. Opening a session is a package request that waits for the owner; inside it, frames are
 * packaged and unpackaged several per request, without asking.
 *
 *   POST /package   { contact, session: { budgetBytes, timeLimitSec, frameSize } }   → { session }
 *   POST /package   { contact, sessionId, frames: [base64…], end? }                  → { packages: [base64…], session }
 *   POST /unpackage { sessionId, packages: [base64…] }                               → { frames: [{ bytes, gaps, late }…], session }
 *
 * An empty `frames` list is a keepalive (the device ends a session whose laptop is quiet for 30 s); `end: true`
 * ends the session after packaging the frames.
 */
import type { SessionView } from '../device/confirm.js';

/** A session as every session answer carries it. */
export type SessionJson = SessionView;

/** `POST /package` opening a session. */
export interface OpenSessionRequest {
  readonly contact: string;
  readonly session: { readonly budgetBytes: number; readonly timeLimitSec: number; readonly frameSize: number | null };
}

/** `POST /package` inside a session. */
export interface SessionPackageRequest {
  readonly contact: string;
  readonly sessionId: string;
  readonly frames: readonly string[];
  readonly end?: boolean;
}

/** `POST /unpackage` inside a session. */
export interface SessionUnpackageRequest {
  readonly sessionId: string;
  readonly packages: readonly string[];
}

export interface OpenSessionResponse {
  readonly session: SessionJson;
}

export interface SessionPackageResponse {
  readonly packages: readonly string[];
  readonly session: SessionJson;
}

export interface SessionUnpackageResponse {
  readonly frames: readonly {
    readonly bytes: string;
    readonly gaps: readonly { readonly start: number; readonly end: number }[];
    readonly late: boolean;
  }[];
  readonly session: SessionJson;
}

/** Most frames (or packages) in one request. */
export const MAX_FRAMES_PER_REQUEST = 1024;

const BASE64 = '^[A-Za-z0-9+/]*={0,2}$';
export const SESSION_ID = { type: 'string', pattern: '^[0-9a-f]{32}$' } as const;

export const sessionJsonSchema = {
  type: 'object',
  required: [
    'id',
    'contact',
    'budgetBytes',
    'usedBytes',
    'sentBytes',
    'receivedBytes',
    'framesSent',
    'framesReceived',
    'frameSize',
    'expiresAt',
    'state',
    'endReason',
    'insecure',
  ],
  properties: {
    id: { type: 'string' },
    contact: { type: 'string' },
    budgetBytes: { type: 'number' },
    usedBytes: { type: 'number' },
    sentBytes: { type: 'number' },
    receivedBytes: { type: 'number' },
    framesSent: { type: 'number' },
    framesReceived: { type: 'number' },
    frameSize: { type: ['number', 'null'] },
    expiresAt: { type: 'number' },
    state: { type: 'string', enum: ['running', 'ended'] },
    endReason: { type: ['string', 'null'] },
    insecure: { type: 'boolean' },
  },
  additionalProperties: false,
} as const;

export const openSessionResponseSchema = {
  type: 'object',
  required: ['session'],
  properties: { session: sessionJsonSchema },
  additionalProperties: false,
} as const;

export const sessionPackageResponseSchema = {
  type: 'object',
  required: ['packages', 'session'],
  properties: { packages: { type: 'array', items: { type: 'string' } }, session: sessionJsonSchema },
  additionalProperties: false,
} as const;

export const sessionUnpackageResponseSchema = {
  type: 'object',
  required: ['frames', 'session'],
  properties: {
    frames: {
      type: 'array',
      items: {
        type: 'object',
        required: ['bytes', 'gaps', 'late'],
        properties: {
          bytes: { type: 'string' },
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
        },
        additionalProperties: false,
      },
    },
    session: sessionJsonSchema,
  },
  additionalProperties: false,
} as const;

/** The body properties a `POST /package` may carry for sessions. */
export function sessionPackageProperties(maxBytesBase64: number) {
  return {
    session: {
      type: 'object',
      required: ['budgetBytes', 'timeLimitSec', 'frameSize'],
      properties: {
        budgetBytes: { type: 'integer', minimum: 1 },
        timeLimitSec: { type: 'integer', minimum: 1 },
        frameSize: { type: ['integer', 'null'], minimum: 1 },
      },
      additionalProperties: false,
    },
    sessionId: SESSION_ID,
    frames: {
      type: 'array',
      maxItems: MAX_FRAMES_PER_REQUEST,
      items: { type: 'string', minLength: 4, maxLength: maxBytesBase64, pattern: BASE64 },
    },
    end: { type: 'boolean' },
  } as const;
}

/** The body properties a `POST /unpackage` may carry for sessions. */
export function sessionUnpackageProperties(maxPackageBase64: number) {
  return {
    sessionId: SESSION_ID,
    packages: {
      type: 'array',
      maxItems: MAX_FRAMES_PER_REQUEST,
      items: { type: 'string', minLength: 4, maxLength: maxPackageBase64, pattern: BASE64 },
    },
  } as const;
}
