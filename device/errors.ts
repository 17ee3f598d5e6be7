/**
 * The one errors registry of onepad.
 *
 * Every failure that crosses a module boundary is an {@link OnepadError} with a stable `code` from
 * {@link ERRORS}. Codes are never reused or renamed; a retired code stays here, marked retired. Each code is
 * documented in docs/errors.md, and test/errors-registry.test.ts keeps the two in sync.
 *
 * Messages are fixed templates. `details` carry only non-secret facts (lengths, offsets, counts, names); never
 * plaintext, pad bytes, tags or keys. Callers branch on `code`, never on message text.
 */

/** One registry entry: the HTTP status the RPC layer maps it to, and a fixed message. */
export interface ErrorSpec {
  /** HTTP status used by rpc/ when this error answers a request. */
  readonly status: number;
  /** Fixed, human-readable message. Never interpolates secrets. */
  readonly message: string;
}

/** The registry. Add new codes at the end of their section; never change or reuse an existing code. */
export const ERRORS = {
  // --- configuration and startup ---------------------------------------------------------------
  CONFIG_INVALID: { status: 500, message: 'configuration is invalid' },
  DATA_DIR_UNSAFE: { status: 500, message: 'data directory is not safe to use' },
  LEDGER_SCHEMA_TOO_NEW: { status: 500, message: 'ledger was written by a newer onepad' },
  INSECURE_REFUSED: { status: 403, message: 'this action needs a secure device; it is simulated or seeded' },
  DATA_DIR_BUSY: { status: 503, message: 'another process has this data directory open' },

  // --- arguments --------------------------------------------------------------------------------
  INVALID_ARGUMENT: { status: 400, message: 'invalid argument' },

  // --- packaging (send side) --------------------------------------------------------------------
  UNKNOWN_CONTACT: { status: 404, message: 'no active pad for this contact' },
  CONTACT_EXISTS: { status: 409, message: 'this contact already has an active pad' },
  PAD_EXHAUSTED: { status: 409, message: 'not enough pad left for this message' },
  MESSAGE_TOO_LONG: { status: 413, message: 'message is longer than the configured limit' },
  DENIED: { status: 403, message: 'the user denied the request on the device' },
  CONFIRM_TIMEOUT: { status: 408, message: 'the device gave up waiting for the user' },
  BUSY: { status: 503, message: 'the device is busy; too many requests are waiting' },
  CONTACT_LOOKALIKE: { status: 409, message: 'this contact name looks like the name of another contact' },
  SESSION_UNKNOWN: { status: 404, message: 'no pipe session with this id' },
  SESSION_ENDED: { status: 409, message: 'the pipe session has ended' },
  SESSION_UNAVAILABLE: { status: 409, message: 'a pipe session cannot be opened now' },

  // --- unpackaging (receive side) ----------------------------------------------------------------
  MALFORMED: { status: 400, message: 'package is malformed' },
  UNSUPPORTED_VERSION: { status: 400, message: 'package has an unsupported version' },
  UNKNOWN_PAD: { status: 404, message: 'package names a pad this device does not hold' },
  MAC_INVALID: { status: 422, message: 'package failed authentication' },
  REPLAY: { status: 409, message: 'package was already received' },
  OVERLAP: { status: 409, message: 'package overlaps pad already received' },
  REFLECTION: { status: 409, message: "package claims this device's own pad region" },

  // --- pads and storage -------------------------------------------------------------------------
  PAD_FILE_INVALID: { status: 500, message: 'pad file does not match the ledger' },
  STORAGE_FAILED: { status: 500, message: 'storage operation failed' },
  SHUTTING_DOWN: { status: 503, message: 'the device is shutting down' },
  PAD_BURNED: { status: 500, message: 'pad bytes about to be used were already burned; nothing was sent or accepted' },
  CANCELLED: { status: 503, message: 'the job was stopped before it finished; nothing it made is usable' },
  STORAGE_FULL: { status: 507, message: 'the data dir has too little free space for this' },

  // --- rpc ---
  NOT_FOUND: { status: 404, message: 'not found' },
  PEER_REFUSED: { status: 403, message: 'requests are answered only from the configured peer' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'request body must be application/json' },
  BODY_TOO_LARGE: { status: 413, message: 'request body is larger than the limit' },
  LINK_ADDRESS_REFUSED: { status: 500, message: 'the link address is not a specific IP address' },
  NO_CONFIRMER: { status: 500, message: 'no confirmation service is available for this device' },
  INTERNAL: { status: 500, message: 'internal error' },
  LINK_UNREACHABLE: { status: 502, message: 'the device could not be reached on the link' },
  BAD_RESPONSE: { status: 502, message: 'the device answered outside the protocol' },
  HOST_REFUSED: { status: 421, message: 'the Host header does not name the link address and port' },
  ORIGIN_REFUSED: { status: 403, message: 'requests made by a web page are refused' },
  EXPECTATION_FAILED: { status: 417, message: 'the request has an expectation the server does not meet' },
  REQUEST_TIMEOUT: { status: 408, message: 'the request was not received in time' },
  HEADERS_TOO_LARGE: { status: 431, message: 'the request headers are larger than the limit' },

  // --- hardware RNG ---
  HRNG_SOURCE_UNAVAILABLE: { status: 503, message: 'the entropy source cannot be opened' },
  HRNG_SOURCE_LOST: { status: 503, message: 'the entropy source stopped delivering' },
  HRNG_SOURCE_SLOW: { status: 503, message: 'the entropy source is much slower than expected' },
  HRNG_HEALTH_FAILED: { status: 503, message: 'an entropy source failed its health tests; filling is stopped' },
  POOL_INSUFFICIENT: { status: 409, message: 'the entropy pool holds fewer bytes than asked for' },
  POOL_FILE_INVALID: { status: 500, message: 'entropy pool file does not match the ledger' },
  HRNG_SEED_INVALID: { status: 500, message: 'the extractor seed file is damaged or not a regular file' },
  HRNG_WASM_UNAVAILABLE: {
    status: 500,
    message: 'this CPU or Node.js has no WebAssembly SIMD, which the entropy health tests and extractor need',
  },

  // --- display and input ---
  DISPLAY_UNAVAILABLE: { status: 500, message: 'the display cannot be used' },
  INPUT_UNAVAILABLE: { status: 500, message: 'the touch or key input cannot be used' },

  // --- pairing ---
  PAIRING_PROTOCOL: { status: 502, message: 'the peer device spoke outside the pairing protocol' },
  PAIRING_PEER_LOST: { status: 502, message: 'the connection to the peer device was lost' },
  PAIRING_PEER_ABORTED: { status: 409, message: 'the peer device aborted the pairing' },
  PAIRING_TIMEOUT: { status: 408, message: 'the pairing did not complete in time' },
  PAIRING_PEER_DENIED: { status: 403, message: "the peer's user denied the pairing" },
  COMMITMENT_MISMATCH: { status: 409, message: 'the peer revealed bytes different from its commitment' },
  PAIRING_PAD_DEGENERATE: {
    status: 409,
    message: "the two devices' contributions cancel out: the pad would hold zeros (equal entropy on both)",
  },
  FINGERPRINT_MISMATCH: { status: 409, message: 'the two devices computed different pad fingerprints' },
  PAIRING_NO_LINK: { status: 503, message: 'the pairing interface has no usable link' },
  PAIRING_MODE_FAILED: { status: 503, message: 'pairing mode could not be requested from the system' },

  // --- relay and chat ---
  RELAY_UNAUTHORIZED: { status: 401, message: 'the relay token for this name is missing or wrong' },
  RELAY_RATE_LIMITED: { status: 429, message: 'this sender is sending faster than the relay allows' },
  RELAY_FULL: { status: 507, message: 'the relay holds as many messages or names as it may' },
  RELAY_PACKAGE_TOO_LARGE: { status: 413, message: 'the package is larger than the relay accepts' },
  RELAY_UNREACHABLE: { status: 502, message: 'the relay could not be reached' },
  RELAY_BAD_RESPONSE: { status: 502, message: 'the relay answered outside its protocol' },
  UNKNOWN_GROUP: { status: 404, message: 'no group with this name' },
  CHAT_STATE_INVALID: { status: 500, message: 'the chat state file cannot be read or is not valid' },
  PIPE_BROKEN: {
    status: 502,
    message: 'the connection to the other end of the pipe broke before the end of its stream',
  },
  PIPE_STREAM_RESET: { status: 502, message: 'one stream of the pipe channel was reset (details.reason)' },
  PIPE_PEER_FAILED: { status: 502, message: 'the other end of the pipe channel said its side failed' },
  PIPE_KEEPALIVE_TIMEOUT: {
    status: 504,
    message: 'nothing authenticated came from the other end of the pipe channel in time',
  },
  PIPE_RELAY_FAILED: { status: 502, message: 'the pipe relay did not join the channel' },
  PIPE_TAP_FAILED: { status: 500, message: 'the TAP interface could not be made' },
} as const satisfies Record<string, ErrorSpec>;

/** A stable error code. */
export type ErrorCode = keyof typeof ERRORS;

/** Non-secret facts attached to an error. Values are numbers, booleans or short strings only. */
export type ErrorDetails = Readonly<Record<string, number | string | boolean | null>>;

/**
 * The error type of onepad. `code` is stable; `details` carry non-secret facts for the caller.
 *
 * @example
 * throw new OnepadError('PAD_EXHAUSTED', { remaining: 40, needed: 132 });
 */
export class OnepadError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: ErrorDetails;

  /**
   * @param code - a registry code
   * @param details - non-secret facts (never plaintext or pad bytes)
   * @param hint - an extra non-secret sentence appended to the fixed message (field names, limits)
   */
  constructor(code: ErrorCode, details: ErrorDetails = {}, hint?: string) {
    const spec = ERRORS[code];
    super(hint ? `${spec.message}: ${hint}` : spec.message);
    this.name = 'OnepadError';
    this.code = code;
    this.status = spec.status;
    this.details = Object.freeze({ ...details });
  }

  /** A plain JSON shape for the wire and logs: code, message, details. */
  toJSON(): { code: ErrorCode; message: string; details: ErrorDetails } {
    return { code: this.code, message: this.message, details: this.details };
  }
}

/** True when `e` is an {@link OnepadError}, optionally with the given code. */
export function isOnepadError(e: unknown, code?: ErrorCode): e is OnepadError {
  return e instanceof OnepadError && (code === undefined || e.code === code);
}

/** All registered codes, in registry order. */
export function errorCodes(): ErrorCode[] {
  return Object.keys(ERRORS) as ErrorCode[];
}
