/**
 * Writes test/vectors/package-v2.json: `node --import tsx test/vectors/make-package-vectors.ts`.
 * The pad is 512 bytes of the seeded ChaCha20 stream (device/seeded.ts) with seed "onepad package vectors", laid
 * out as docs/PROTOCOL.md says: split 256, 3 key slots for A ([0, 96)), 2 for B ([448, 512)); A's stream area is
 * [96, 256), B's [256, 448). Packages are made by the reference encoder (test/vectors/reference.ts, BigInt Poly1305
 * from RFC 8439 2.5.1), not by device/wire.ts. The full pad is in the file, so another implementation needs
 * nothing but this file.
 */
import { writeFileSync } from 'node:fs';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { fillSeeded, seededKey } from '../../device/seeded.js';
import { referencePackage } from './reference.js';

const pad = new Uint8Array(512);
fillSeeded(seededKey('onepad package vectors'), pad, 0);
const layout = { size: 512, split: 256, keySlotsA: 3, keySlotsB: 2 };
const padId = Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i);
const cases: { name: string; side: 'A' | 'B'; index: number; streamStart: number; plaintext: Uint8Array }[] = [
  { name: 'A, message 0, "hello bob"', side: 'A', index: 0, streamStart: 96, plaintext: utf8ToBytes('hello bob') },
  { name: 'A, message 1 right after it', side: 'A', index: 1, streamStart: 105, plaintext: utf8ToBytes('second') },
  {
    name: 'B, message 0 at the end of its stream area',
    side: 'B',
    index: 0,
    streamStart: 448 - 8,
    plaintext: utf8ToBytes('hi alice'),
  },
  {
    name: 'B, message 1, UTF-8 text',
    side: 'B',
    index: 1,
    streamStart: 440 - 11,
    plaintext: utf8ToBytes('grüße, ☃'),
  },
  {
    name: 'A, message 2, 100 bytes 0x00..0x63 (crosses Poly1305 block boundaries)',
    side: 'A',
    index: 2,
    streamStart: 111,
    plaintext: Uint8Array.from({ length: 100 }, (_, i) => i),
  },
];
const vectors = cases.map((c) => ({
  name: c.name,
  side: c.side,
  index: c.index,
  streamStart: c.streamStart,
  plaintext: bytesToHex(c.plaintext),
  package: bytesToHex(referencePackage(layout, c.side, padId, c.index, c.streamStart, c.plaintext, pad)),
}));
const out = {
  source:
    'Made by test/vectors/make-package-vectors.ts with the BigInt reference encoder (test/vectors/reference.ts); ' +
    'pad = first 512 bytes of ChaCha20(key = SHA-256("onepad seeded v1" || "onepad package vectors"), nonce = 0) ' +
    '(device/seeded.ts). MAC key of message i of side A = pad[32i .. 32i+32), of side B = ' +
    'pad[size - 32 keySlotsB + 32i .. +32); key stream = pad[streamStart .. streamStart + L).',
  padId: bytesToHex(padId),
  layout,
  pad: bytesToHex(pad),
  vectors,
};
writeFileSync(new URL('./package-v2.json', import.meta.url), `${JSON.stringify(out, null, 1)}\n`);
