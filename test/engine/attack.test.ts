/**
 * Attacks on the v2 invariant: no pad byte can act as MAC key in one package and key stream in another.
 *
 * The attacker knows some plaintext (malware on the sender's laptop, a group member who got the same text, a relay
 * that guesses a greeting), so it knows the key stream under it: ciphertext XOR plaintext. Against v1 that was
 * enough to forge: a segment starting inside the known window took its MAC key from known key stream. These tests
 * build every package such an attacker can build from recovered key stream and check that none is accepted and
 * that refusing them changes nothing: the ledger and pad files stay byte-identical and honest packages still go
 * through afterwards.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hexToBytes } from '@noble/hashes/utils.js';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../device/config/config.js';
import { autoApprove } from '../../device/confirm.js';
import { DeviceEngine } from '../../device/engine.js';
import { OnepadError } from '../../device/errors.js';
import { sideAreas } from '../../device/layout.js';
import { padFilePath } from '../../device/pad-file.js';
import { createPadPair } from '../../device/pad-pair.js';
import { parsePackage, type Side } from '../../device/wire.js';
import { makePair, type Pair, text, utf8 } from '../helpers/engine-fixture.js';
import { stateHash } from '../helpers/ledger-snapshot.js';
import { forge, type Recovered, recover, window } from './attack-helpers.js';

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'OK';
  } catch (e) {
    if (!(e instanceof OnepadError)) throw e;
    return e.code;
  }
}

/** Every package the shifted-segment attack can make from key stream recovered at [s, s + n). */
function* shiftedSegments(
  rec: Recovered,
  s: number,
  n: number,
  indexes: readonly number[],
  side: Side,
  padId: Uint8Array,
) {
  for (let o = 0; o + 33 <= n; o++) {
    const key = window(rec, s + o, 32) as Uint8Array;
    for (let len = 1; o + 32 + len <= n; len++) {
      const streamStart = s + o + 32;
      const stream = window(rec, streamStart, len) as Uint8Array;
      const textBytes = new Uint8Array(len).fill(0x41 + (len % 26));
      for (const index of indexes) yield forge(side, padId, index, streamStart, textBytes, key, stream);
    }
  }
}

let pair: Pair | undefined;
const roots: string[] = [];
afterEach(() => {
  pair?.cleanup();
  pair = undefined;
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});

describe('the shifted-segment attack (key stream recovered from known plaintext, used as MAC key)', () => {
  const L = 80;
  const known = Uint8Array.from({ length: L }, (_, i) => 0x20 + ((i * 7) % 90));

  for (const delivered of [true, false]) {
    it(`every offset and length is refused, the genuine package ${delivered ? 'delivered first' : 'not delivered'}`, async () => {
      pair = makePair(4096, `shift-${delivered}`);
      const a = pair.openA();
      const b = pair.openB();
      await a.package('bob', utf8('an earlier message'));
      const genuine = await a.package('bob', known);
      const h = parsePackage(genuine.package);
      if (delivered) expect(text((await b.unpackage(genuine.package)).plaintext)).toBe(text(known));
      const rec: Recovered = new Map();
      recover(rec, genuine.package, known);
      const slots = sideAreas(b.pads()[0]!, 'A').slots;
      const before = stateHash(pair.dirB);
      const codes = new Map<string, number>();
      let tried = 0;
      for (const forged of shiftedSegments(
        rec,
        h.streamStart,
        L,
        [h.index, h.index + 1, slots - 1, slots],
        'A',
        h.padId,
      )) {
        const code = await codeOf(b.unpackage(forged));
        codes.set(code, (codes.get(code) ?? 0) + 1);
        tried++;
      }
      // 48 offsets, 1176 (offset, length) pairs, 4 claimed indexes each.
      expect(tried).toBe(4 * ((48 * 49) / 2));
      expect(codes.has('OK')).toBe(false);
      expect(stateHash(pair.dirB)).toBe(before);
      // Index K is outside the key area; the rest fail on the tag or, once the genuine is in, on slot or stream.
      expect(codes.get('MALFORMED')).toBe(tried / 4);
      if (delivered) {
        // Every shifted segment lies inside the genuine stream range, now received: refused before a pad byte is
        // read (REPLAY for the genuine's slot, OVERLAP for any other).
        expect([...codes.keys()].sort()).toEqual(['MALFORMED', 'OVERLAP', 'REPLAY']);
        expect(codes.get('REPLAY')).toBe(tried / 4);
      } else {
        // Nothing received yet: each one gets as far as the tag, under the real key slot, and fails there.
        expect([...codes.keys()].sort()).toEqual(['MAC_INVALID', 'MALFORMED']);
        expect(text((await b.unpackage(genuine.package)).plaintext)).toBe(text(known));
        // The forgeries are evidence: counted in the event log, and not crowded out by the malformed junk.
        expect(b.events.total('MAC_FAILURE')).toBe(codes.get('MAC_INVALID'));
        expect(b.events.recent(5, ['MAC_FAILURE']).length).toBe(5);
      }
    }, 120_000);
  }

  it('control: the same forge() with the real key slot is accepted, so the refusals above are the key areas at work', async () => {
    pair = makePair(4096, 'control');
    const b = pair.openB();
    const pad = readFileSync(padFilePath(join(pair.dirA, 'pads'), pair.padId));
    const areas = sideAreas(b.pads()[0]!, 'A');
    const key = pad.subarray(areas.keys.start, areas.keys.start + 32);
    const stream = pad.subarray(areas.stream.start, areas.stream.start + 5);
    const ok = forge('A', hexToBytes(pair.padId), 0, areas.stream.start, utf8('made!'), key, stream);
    expect(text((await b.unpackage(ok)).plaintext)).toBe('made!');
  });

  it('from a group copy: a member who decrypts its own copy cannot forge to another member', async () => {
    // alice sends the same text to bob and to carol over two pads; carol knows the text and sees bob's package
    // on the relay.
    const root = mkdtempSync(join(tmpdir(), 'onepad-group-'));
    roots.push(root);
    const dir = (n: string) => join(root, n);
    createPadPair({
      dirA: dir('alice'),
      dirB: dir('bob'),
      nameA: 'alice',
      nameB: 'bob',
      size: 4096,
      source: { kind: 'seeded', seed: 'g1' },
    });
    createPadPair({
      dirA: dir('alice'),
      dirB: dir('carol'),
      nameA: 'alice',
      nameB: 'carol',
      size: 4096,
      source: { kind: 'seeded', seed: 'g2' },
    });
    const open = (n: string) =>
      DeviceEngine.open({
        config: parseConfig({ dataDir: dir(n), device: { name: n, simulated: true } }),
        confirmer: autoApprove,
      });
    const alice = open('alice');
    const bob = open('bob');
    const carol = open('carol');
    try {
      const groupText = utf8('meet at the usual place at nine; bring the documents and the second key');
      const toBob = await alice.package('bob', groupText);
      const toCarol = await alice.package('carol', groupText);
      const carolSaw = (await carol.unpackage(toCarol.package)).plaintext as Uint8Array;
      const rec: Recovered = new Map();
      recover(rec, toBob.package, carolSaw);
      const h = parsePackage(toBob.package);
      const before = stateHash(dir('bob'));
      let tried = 0;
      for (const forged of shiftedSegments(
        rec,
        h.streamStart,
        groupText.length,
        [h.index, h.index + 1],
        'A',
        h.padId,
      )) {
        expect(await codeOf(bob.unpackage(forged))).toBe('MAC_INVALID');
        tried++;
      }
      // And the simplest forgery: bob's genuine header, carol's chosen text under the recovered key stream.
      const mine = utf8('meet at the old place at ten; bring nothing and come alone, the key is off');
      const sameSlot = forge(
        'A',
        h.padId,
        h.index,
        h.streamStart,
        mine.subarray(0, h.length),
        new Uint8Array(32),
        window(rec, h.streamStart, h.length) as Uint8Array,
      );
      expect(await codeOf(bob.unpackage(sameSlot))).toBe('MAC_INVALID');
      expect(tried).toBeGreaterThan(1000);
      expect(stateHash(dir('bob'))).toBe(before);
      expect(text((await bob.unpackage(toBob.package)).plaintext)).toBe(text(groupText));
    } finally {
      for (const e of [alice, bob, carol]) e.close();
    }
  }, 120_000);
});

describe('an attacker holding honest packages and known plaintext windows (property)', () => {
  interface Honest {
    readonly from: Side;
    readonly len: number;
    readonly delivered: boolean;
    readonly knownFrom: number;
    readonly knownTo: number;
  }
  const honestArb: fc.Arbitrary<Honest> = fc
    .record({
      from: fc.constantFrom<Side>('A', 'B'),
      len: fc.integer({ min: 1, max: 150 }),
      delivered: fc.boolean(),
      a: fc.nat(),
      b: fc.nat(),
    })
    .map((r) => {
      const x = r.a % (r.len + 1);
      const y = r.b % (r.len + 1);
      return { from: r.from, len: r.len, delivered: r.delivered, knownFrom: Math.min(x, y), knownTo: Math.max(x, y) };
    });
  const attackArb = fc.record({
    to: fc.constantFrom<Side>('A', 'B'),
    keyAt: fc.nat(),
    streamAt: fc.nat(),
    index: fc.nat(12),
    len: fc.integer({ min: 1, max: 120 }),
    textSeed: fc.nat(255),
    malleate: fc.boolean(),
  });

  it('never gets a package built from recovered key stream accepted, and honest packages still go through', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(honestArb, { minLength: 1, maxLength: 6 }),
        fc.array(attackArb, { minLength: 1, maxLength: 25 }),
        fc.integer(),
        async (honest, attacks, seed) => {
          pair?.cleanup();
          pair = makePair(4096, `prop-${seed}`);
          const engines = { A: pair.openA(), B: pair.openB() };
          const dirs = { A: pair.dirA, B: pair.dirB };
          const peerName = (s: Side) => (s === 'A' ? 'bob' : 'alice');
          const rec: Record<Side, Recovered> = { A: new Map(), B: new Map() };
          const sent: { from: Side; pkg: Uint8Array; plaintext: Uint8Array; delivered: boolean }[] = [];
          for (const [i, m] of honest.entries()) {
            const plaintext = Uint8Array.from({ length: m.len }, (_, j) => (seed + i * 31 + j * 7) & 0xff);
            let pkg: Uint8Array;
            try {
              pkg = (await engines[m.from].package(peerName(m.from), plaintext)).package;
            } catch (e) {
              expect((e as OnepadError).code).toBe('PAD_EXHAUSTED');
              continue;
            }
            recover(rec[m.from], pkg, plaintext, m.knownFrom, m.knownTo);
            if (m.delivered) await engines[m.from === 'A' ? 'B' : 'A'].unpackage(pkg);
            sent.push({ from: m.from, pkg, plaintext, delivered: m.delivered });
          }
          const before = { A: stateHash(dirs.A), B: stateHash(dirs.B) };
          const padId = hexToBytes(pair.padId);
          for (const at of attacks) {
            // Packages to `at.to` claim to come from the other side; the attacker knows key stream of that side.
            const from: Side = at.to === 'A' ? 'B' : 'A';
            const known = [...rec[from].keys()].sort((x, y) => x - y);
            const pick = (n: number, k: number): Uint8Array =>
              // k recovered bytes starting at the n-th known position; gathered one by one where not contiguous.
              Uint8Array.from({ length: k }, (_, j) =>
                known.length ? (rec[from].get(known[(n + j) % known.length] as number) as number) : 0,
              );
            const key = pick(at.keyAt, 32);
            let forged: Uint8Array;
            const victim = sent.find((s) => s.from === from && !s.delivered);
            if (at.malleate && victim) {
              // Keep an honest package's header, flip its ciphertext to chosen text where the plaintext is known,
              // and re-tag it with recovered key stream.
              const h = parsePackage(victim.pkg);
              const stream = window(rec[from], h.streamStart, h.length) ?? pick(at.streamAt, h.length);
              const chosen = Uint8Array.from({ length: h.length }, (_, j) => (at.textSeed + j) & 0xff);
              forged = forge(from, padId, h.index, h.streamStart, chosen, key, stream);
            } else {
              const streamStart = known.length ? (known[at.streamAt % known.length] as number) : at.streamAt;
              const stream = window(rec[from], streamStart, at.len) ?? pick(at.streamAt, at.len);
              const chosen = Uint8Array.from({ length: at.len }, (_, j) => (at.textSeed * 3 + j) & 0xff);
              forged = forge(from, padId, at.index, streamStart, chosen, key, stream);
            }
            const code = await codeOf(engines[at.to].unpackage(forged));
            expect(code).not.toBe('OK');
            expect(['MAC_INVALID', 'REPLAY', 'OVERLAP', 'MALFORMED', 'REFLECTION']).toContain(code);
          }
          expect(stateHash(dirs.A)).toBe(before.A);
          expect(stateHash(dirs.B)).toBe(before.B);
          for (const s of sent.filter((x) => !x.delivered)) {
            const r = await engines[s.from === 'A' ? 'B' : 'A'].unpackage(s.pkg);
            expect(r.plaintext).toEqual(s.plaintext);
          }
        },
      ),
      { numRuns: 25 },
    );
  }, 300_000);
});
