/**
 * Converting message content between JSON and bytes: strict base64 and UTF-8 text.
 */
import { OnepadError } from '../device/errors.js';

const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Decode canonical, padded, standard base64 (RFC 4648 section 4). Anything else is refused: other alphabets,
 * whitespace, missing padding, or non-zero trailing bits (so every byte string has exactly one encoding).
 *
 * @param field - the JSON field name, for the error's details
 * @throws OnepadError INVALID_ARGUMENT naming `field` when `text` is not canonical base64
 */
export function decodeBase64(text: string, field: string): Uint8Array {
  if (text.length % 4 !== 0 || !BASE64_RE.test(text)) {
    throw new OnepadError('INVALID_ARGUMENT', { field, reason: 'not base64' }, `${field} is not base64`);
  }
  const buf = Buffer.from(text, 'base64');
  if (buf.toString('base64') !== text) {
    throw new OnepadError('INVALID_ARGUMENT', { field, reason: 'not canonical base64' }, `${field} is not base64`);
  }
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** Encode bytes as standard padded base64. */
export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

const encoder = new TextEncoder();
/** With the u flag a surrogate pair is one code point, so this matches only unpaired surrogates. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;
const strictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Encode text as UTF-8. Lone surrogates cannot be encoded faithfully and are refused rather than replaced.
 *
 * @throws OnepadError INVALID_ARGUMENT when `text` holds a lone surrogate
 */
export function encodeText(text: string, field: string): Uint8Array {
  if (LONE_SURROGATE.test(text)) {
    throw new OnepadError('INVALID_ARGUMENT', { field, reason: 'lone surrogate' }, `${field} is not valid Unicode`);
  }
  return encoder.encode(text);
}

/** Decode bytes as UTF-8, or null when they are not valid UTF-8. */
export function decodeTextOrNull(bytes: Uint8Array): string | null {
  try {
    return strictDecoder.decode(bytes);
  } catch {
    return null;
  }
}
