/**
 * Attacks on the v2 layout itself (docs/PROTOCOL.md, "Why v2: the invariant"), by an attacker stronger than any
 * known-plaintext one: it knows **every byte that is ever key stream** (both sides' whole stream areas, as if it
 * knew every plaintext ever sent) and the receiver's **own** key area (as if the receiver's key slots leaked). The
 * only bytes it lacks are the sender's key slots. The invariant says that is enough: no package it builds is
 * accepted, whatever index, side, stream start and length it claims, and refusing them changes nothing.
 *
 * Also: stream ranges placed in, and straddling, every area and boundary of the pad (and past 2^53) are refused as
 * MALFORMED before the tag, except those inside the sender's stream area, which fail on the tag.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { hexToBytes } from '@noble/hashes/utils.js';
import { afterEach, describe, expect, it } from 'vitest';
import type { ByteRange } from '../../device/engine-types.js';
import { OnepadError } from '../../device/errors.js';
import { sideAreas } from '../../device/layout.js';
import { padFilePath } from '../../device/pad-file.js';
import { HEADER_LENGTH, type Side } from '../../device/wire.js';
import { makePair, type Pair, text, utf8 } from '../helpers/engine-fixture.js';
import { stateHash } from '../helpers/ledger-snapshot.js';
import { forge } from './attack-helpers.js';

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'OK';
  } catch (e) {
    if (!(e instanceof OnepadError)) throw e;
    return e.code;
  }
}

let pair: Pair | undefined;
afterEach(() => {
  pair?.cleanup();
  pair = undefined;
});

const inside = (r: ByteRange, a: ByteRange) => a.start <= r.start && r.end <= a.end;

describe('an attacker who knows every key stream byte and the receiver’s own key slots', () => {
  for (const receiver of ['A', 'B'] as const) {
    it(`cannot get one package accepted by ${receiver}: any index, either side, any stream start and length`, async () => {
      pair = makePair(4096, `omni-${receiver}`);
      const original = padBytes(pair);
      const engines = { A: pair.openA(), B: pair.openB() };
      const peer: Side = receiver === 'A' ? 'B' : 'A';
      const rx = engines[receiver];
      // Some honest traffic both ways first, so some slots and ranges are used and some are not.
      for (let i = 0; i < 3; i++) {
        const m = await engines.A.package('bob', utf8(`from alice ${i}`));
        if (i !== 1) await engines.B.unpackage(m.package);
        const n = await engines.B.package('alice', utf8(`from bob ${i}`));
        if (i !== 1) await engines.A.unpackage(n.package);
      }
      const row = rx.pads()[0]!;
      const areas = { A: sideAreas(row, 'A'), B: sideAreas(row, 'B') };
      // What the attacker knows: every stream byte of both sides and the receiver's own key area.
      const known: ByteRange[] = [areas.A.stream, areas.B.stream, areas[receiver].keys];
      const knows = (r: ByteRange) => known.some((k) => inside(r, k));
      const take = (start: number, n: number) => original.subarray(start, start + n);
      const before = stateHash(receiver === 'A' ? pair.dirA : pair.dirB);
      const padId = hexToBytes(pair.padId);
      const codes = new Map<string, number>();
      let tried = 0;
      // Keys: every 32-byte window the attacker knows, at a stride (the receiver's own slots at each slot start).
      const keyStarts: number[] = [];
      for (const k of known) {
        const step = k === areas[receiver].keys ? 32 : 29;
        for (let s = k.start; s + 32 <= k.end; s += step) keyStarts.push(s);
      }
      const streamStarts = [areas[peer].stream.start, areas[peer].stream.start + 1, areas[peer].stream.end - 40];
      for (const keyAt of keyStarts) {
        const key = take(keyAt, 32);
        expect(knows({ start: keyAt, end: keyAt + 32 })).toBe(true);
        // The index the key came from, when it is a slot of the receiver's own key area; else a spread of indexes.
        const ownSlot = inside({ start: keyAt, end: keyAt + 32 }, areas[receiver].keys)
          ? (keyAt - areas[receiver].keys.start) / 32
          : null;
        const indexes = ownSlot !== null ? [ownSlot] : [0, 1, 2, 3, areas[peer].slots - 1];
        for (const side of ['A', 'B'] as const) {
          for (const index of indexes) {
            for (const s of streamStarts) {
              const L = 9 + (tried % 31);
              const stream = take(s, L);
              const chosen = new Uint8Array(L).fill(0x58);
              const pkg = forge(side, padId, index, s, chosen, key, stream);
              const code = await codeOf(rx.unpackage(pkg));
              codes.set(code, (codes.get(code) ?? 0) + 1);
              tried++;
            }
          }
        }
      }
      expect(tried).toBeGreaterThan(500);
      expect(codes.has('OK')).toBe(false);
      expect([...codes.keys()].every((c) => ['MAC_INVALID', 'REFLECTION', 'OVERLAP', 'REPLAY'].includes(c))).toBe(true);
      // Claiming the receiver's own side with its own key slot (the one package whose tag is right) is a
      // reflection, refused before the tag: the side check is what stops it.
      expect(codes.get('REFLECTION')).toBeGreaterThan(0);
      expect(codes.get('MAC_INVALID')).toBeGreaterThan(0);
      expect(stateHash(receiver === 'A' ? pair.dirA : pair.dirB)).toBe(before);
      // Control: with the peer's real key slot (the bytes the attacker lacks) the same forge() is accepted.
      const slot = areas[peer].slots - 1;
      const realKey = take(areas[peer].keys.start + 32 * slot, 32);
      const s = peer === 'A' ? areas.A.stream.end - 5 : areas.B.stream.start;
      const ok = forge(peer, padId, slot, s, utf8('made!'), realKey, take(s, 5));
      expect(text((await rx.unpackage(ok)).plaintext)).toBe('made!');
    }, 180_000);
  }

  it('a reflected package under the receiver’s own (correct) key slot is refused, never accepted', async () => {
    pair = makePair(4096, 'reflect-own-key');
    const original = padBytes(pair);
    const a = pair.openA();
    const own = sideAreas(a.pads()[0]!, 'A');
    // A package that verifies under A's key slot 5 and A's stream: exactly what A itself would send.
    const s = own.stream.start + 200;
    const pkg = forge(
      'A',
      hexToBytes(pair.padId),
      5,
      s,
      utf8('mine'),
      original.subarray(5 * 32, 6 * 32),
      original.subarray(s, s + 4),
    );
    const before = stateHash(pair.dirA);
    expect(await codeOf(a.unpackage(pkg))).toBe('REFLECTION');
    expect(stateHash(pair.dirA)).toBe(before);
  });
});

/** The pad bytes as installed (read before any engine burns a byte). */
function padBytes(p: Pair): Buffer {
  return readFileSync(padFilePath(join(p.dirA, 'pads'), p.padId));
}

describe('stream ranges in and across every area of the pad', () => {
  it('only ranges inside the sender’s stream area reach the tag; all others are MALFORMED, before any pad byte', async () => {
    pair = makePair(4096, 'areas');
    const b = pair.openB();
    const a = pair.openA();
    const row = b.pads()[0]!;
    const areas = { A: sideAreas(row, 'A'), B: sideAreas(row, 'B') };
    const bounds = [
      0,
      areas.A.keys.end,
      row.split,
      areas.B.keys.start,
      row.size,
      row.size + 100,
      2 ** 40,
      Number.MAX_SAFE_INTEGER - 3,
    ];
    const padId = hexToBytes(pair.padId);
    const key = new Uint8Array(32).fill(7);
    for (const receiver of ['A', 'B'] as const) {
      const rx = receiver === 'A' ? a : b;
      const peer: Side = receiver === 'A' ? 'B' : 'A';
      const dir = receiver === 'A' ? pair.dirA : pair.dirB;
      const before = stateHash(dir);
      let tried = 0;
      for (const at of bounds) {
        for (const delta of [-40, -8, -1, 0, 1, 8]) {
          for (const L of [1, 8, 16, 41]) {
            const start = at + delta;
            if (start < 0) continue;
            const r = { start, end: start + L };
            const pkg = forge(peer, padId, 0, start, new Uint8Array(L).fill(1), key, new Uint8Array(L));
            const code = await codeOf(rx.unpackage(pkg));
            tried++;
            if (inside(r, areas[peer].stream)) expect(code, `${receiver} ${start}+${L}`).toBe('MAC_INVALID');
            else expect(code, `${receiver} ${start}+${L}`).toBe('MALFORMED');
          }
        }
      }
      expect(tried).toBeGreaterThan(150);
      expect(stateHash(dir)).toBe(before);
    }
    // A stream start beyond 2^53 cannot even be parsed into a range.
    const far = forge('A', padId, 0, 0, new Uint8Array(4), key, new Uint8Array(4));
    new DataView(far.buffer).setBigUint64(22, 2n ** 60n, false);
    expect(await codeOf(b.unpackage(far))).toBe('MALFORMED');
    expect(far.length).toBe(HEADER_LENGTH + 4 + 16);
  });
});
