/**
 * Writes test/vectors/package-v1.json: `node --import tsx test/vectors/make-package-vectors.ts`.
 * Pads are 512 bytes of the seeded ChaCha20 stream (device/seeded.ts) with seed "onepad package vectors";
 * packages are made by the reference encoder (test/vectors/reference.ts, BigInt Poly1305 from RFC 8439 2.5.1).
 * The full pad is in each vector, so another implementation needs nothing but this file.
 */
import { writeFileSync } from 'node:fs';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { fillSeeded, seededKey } from '../../device/seeded.js';
import { referencePackage } from './reference.js';

const pad = new Uint8Array(512);
fillSeeded(seededKey('onepad package vectors'), pad, 0);
const padId = Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i);
const cases: { name: string; side: 'A' | 'B'; start: number; plaintext: Uint8Array }[] = [
  { name: 'A, first message, "hello bob"', side: 'A', start: 0, plaintext: utf8ToBytes('hello bob') },
  { name: 'A, second message right after the first', side: 'A', start: 41, plaintext: utf8ToBytes('second') },
  {
    name: 'B, first message at the end of the pad',
    side: 'B',
    start: 512 - 32 - 8,
    plaintext: utf8ToBytes('hi alice'),
  },
  { name: 'B, UTF-8 text', side: 'B', start: 300, plaintext: utf8ToBytes('grüße, ☃') },
  {
    name: 'A, empty message (format allows L = 0; the engine refuses to send one)',
    side: 'A',
    start: 100,
    plaintext: new Uint8Array(),
  },
  { name: 'A, 200 bytes 0x00..0xc7', side: 'A', start: 20, plaintext: Uint8Array.from({ length: 200 }, (_, i) => i) },
];
const vectors = cases.map((c) => ({
  name: c.name,
  side: c.side,
  start: c.start,
  plaintext: bytesToHex(c.plaintext),
  package: bytesToHex(referencePackage(c.side, padId, c.start, c.plaintext, pad)),
}));
const out = {
  source:
    'Made by test/vectors/make-package-vectors.ts with the BigInt reference encoder (test/vectors/reference.ts); ' +
    'pad = first 512 bytes of ChaCha20(key = SHA-256("onepad seeded v1" || "onepad package vectors"), nonce = 0) ' +
    '(device/seeded.ts). Segment of a message of L bytes = pad[start .. start + L + 32).',
  padId: bytesToHex(padId),
  pad: bytesToHex(pad),
  vectors,
};
writeFileSync(new URL('./package-v1.json', import.meta.url), `${JSON.stringify(out, null, 1)}\n`);
