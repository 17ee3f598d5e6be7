/**
 * The relay's protocol: three calls, their JSON shapes (types for the client, schemas for the server), shared
 * by client/relay-server.ts and client/relay-client.ts. docs/CHAT.md describes it for people.
 */

/** A name at the relay: the same shape as a device contact name. */
export const NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9 ._@-]{0,63}$';
/** A relay token: 32 random bytes, base64url without padding. */
export const TOKEN_PATTERN = '^[A-Za-z0-9_-]{43}$';
const NAME = { type: 'string', minLength: 1, maxLength: 64, pattern: NAME_PATTERN } as const;
const BASE64 = '^[A-Za-z0-9+/]*={0,2}$';
/** The largest ref: refs are SQLite integer keys, kept within JavaScript's safe integers. */
export const MAX_REF = Number.MAX_SAFE_INTEGER;

/** `POST /messages`. */
export interface SendRequest {
  readonly from: string;
  readonly to: string;
  /** The package, standard padded base64; the relay cannot read it. */
  readonly package: string;
}
/** The answer to `POST /messages`. */
export interface SendResponse {
  readonly ref: number;
  readonly time: number;
}

/** One message in the answer to `GET /messages`. */
export interface RelayMessage {
  readonly ref: number;
  /** The sender as the relay saw it (authenticated by its token, not by the pad). */
  readonly from: string;
  readonly package: string;
  readonly time: number;
}
/** The answer to `GET /messages?to=NAME&after=REF[&limit=N]`. */
export interface FetchResponse {
  readonly messages: readonly RelayMessage[];
  /** More messages are waiting after the last one returned. */
  readonly more: boolean;
}

/** `POST /ack`. */
export interface AckRequest {
  readonly to: string;
  readonly refs: readonly number[];
}
/** The answer to `POST /ack`. */
export interface AckResponse {
  readonly deleted: number;
}

/** The route schemas for a relay with the given limits. */
export function relayRouteSchemas(limits: { maxPackageBase64: number; maxFetch: number }) {
  const ref = { type: 'integer', minimum: 0, maximum: MAX_REF } as const;
  return {
    send: {
      body: {
        type: 'object',
        required: ['from', 'to', 'package'],
        additionalProperties: false,
        properties: {
          from: NAME,
          to: NAME,
          // The size limit is checked after decoding (RELAY_PACKAGE_TOO_LARGE); this bound only keeps the
          // pattern check cheap, the body limit is the real cap.
          package: { type: 'string', minLength: 4, maxLength: limits.maxPackageBase64 + 4096, pattern: BASE64 },
        },
      },
    },
    fetch: {
      querystring: {
        type: 'object',
        required: ['to'],
        additionalProperties: false,
        properties: {
          to: NAME,
          after: { type: 'string', pattern: '^(0|[1-9][0-9]{0,15})$' },
          limit: { type: 'string', pattern: '^[1-9][0-9]{0,3}$' },
        },
      },
    },
    ack: {
      body: {
        type: 'object',
        required: ['to', 'refs'],
        additionalProperties: false,
        properties: {
          to: NAME,
          refs: { type: 'array', minItems: 1, maxItems: limits.maxFetch, items: ref },
        },
      },
    },
  } as const;
}

/** Length of the base64 encoding of `n` bytes. */
export function base64Length(n: number): number {
  return Math.ceil(n / 3) * 4;
}
