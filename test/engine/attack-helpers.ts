/**
 * What an attacker who knows some plaintext can build: key stream recovered as ciphertext XOR plaintext, and
 * packages made only from it (test/engine/attack.test.ts).
 */
import { poly1305 } from '@noble/ciphers/_poly1305.js';
import { HEADER_LENGTH, parsePackage, type Side, TAG_LENGTH } from '../../device/wire.js';

/** Key stream bytes the attacker recovered, by pad offset. */
export type Recovered = Map<number, number>;

/**
 * Recover the key stream under a known window [from, to) of a package's plaintext: pad[streamStart + j] =
 * ciphertext[j] XOR plaintext[j].
 */
export function recover(into: Recovered, pkg: Uint8Array, plaintext: Uint8Array, from = 0, to = plaintext.length) {
  const h = parsePackage(pkg);
  for (let j = from; j < to; j++) {
    into.set(h.streamStart + j, (pkg[HEADER_LENGTH + j] as number) ^ (plaintext[j] as number));
  }
}

/** The recovered bytes at [start, start + n), or null if any is unknown. */
export function window(rec: Recovered, start: number, n: number): Uint8Array | null {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const b = rec.get(start + i);
    if (b === undefined) return null;
    out[i] = b;
  }
  return out;
}

/**
 * A v2 package built by hand: any header the attacker likes, ciphertext = text XOR `stream`, tag = Poly1305 under
 * `key`. The attacker's best guess: key and stream are pad bytes it knows.
 */
export function forge(
  side: Side,
  padId: Uint8Array,
  index: number,
  streamStart: number,
  text: Uint8Array,
  key: Uint8Array,
  stream: Uint8Array,
): Uint8Array {
  const L = text.length;
  const out = new Uint8Array(HEADER_LENGTH + L + TAG_LENGTH);
  const v = new DataView(out.buffer);
  out[0] = 2;
  out[1] = side === 'B' ? 1 : 0;
  out.set(padId, 2);
  v.setUint32(18, index >>> 0, false);
  v.setBigUint64(22, BigInt(streamStart), false);
  v.setUint32(30, L, false);
  for (let i = 0; i < L; i++) out[HEADER_LENGTH + i] = (text[i] as number) ^ (stream[i] as number);
  out.set(poly1305(out.subarray(0, HEADER_LENGTH + L), key), HEADER_LENGTH + L);
  return out;
}
