/**
 * Seeded, reproducible, INSECURE bytes for tests and demos: the ChaCha20 key stream (RFC 8439) under
 * key = SHA-256("onepad seeded v1" || seed), nonce = 0. Anything made from it is marked insecure.
 */
import { chacha20 } from '@noble/ciphers/chacha.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { utf8ToBytes } from '@noble/hashes/utils.js';

const NONCE = new Uint8Array(12);

/** The key a seed maps to. */
export function seededKey(seed: string): Uint8Array {
  return sha256(new Uint8Array([...utf8ToBytes('onepad seeded v1'), ...utf8ToBytes(seed)]));
}

/**
 * Fill `out` with the seeded stream's bytes at stream offset `offset`.
 * @throws RangeError when `offset` is not a multiple of 64 (a ChaCha20 block)
 */
export function fillSeeded(key: Uint8Array, out: Uint8Array, offset: number): void {
  if (offset % 64 !== 0) throw new RangeError('offset must be a multiple of 64');
  out.fill(0);
  chacha20(key, NONCE, out, out, offset / 64);
}
