/**
 * The engine checked against a tiny in-memory model with random operation sequences (fast-check model-based
 * testing), and unpackage's invariants under random, truncated, bit-flipped, duplicated and reordered input.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { DeviceEngine } from '../../device/engine.js';
import { OnepadError } from '../../device/errors.js';
import { parsePackage } from '../../device/wire.js';
import { makePair, type Pair } from '../helpers/engine-fixture.js';
import { stateHash } from '../helpers/ledger-snapshot.js';

const SIZE = 2048;
const SPLIT = SIZE / 2;
// Default typical length 160: each 1024-byte region gets floor(1024 / 192) = 5 key slots of 32 bytes.
const SLOTS = 5;
const A_STREAM = { start: 32 * SLOTS, end: SPLIT };
const B_STREAM = { start: SPLIT, end: SIZE - 32 * SLOTS };

interface Sent {
  from: 'A' | 'B';
  pkg: Uint8Array;
  plaintext: Uint8Array;
  index: number;
  /** The stream range. */
  start: number;
  end: number;
  delivered: boolean;
}

/** What the engines should do, in a few lines. */
class Model {
  cursorA = A_STREAM.start;
  cursorB = B_STREAM.end;
  indexA = 0;
  indexB = 0;
  sent: Sent[] = [];
  /** Receiver frontier per sender: A's highest end seen by B, B's lowest start seen by A. */
  frontierOfA = A_STREAM.start;
  frontierOfB = B_STREAM.end;
  streamLeft(side: 'A' | 'B'): number {
    return side === 'A' ? A_STREAM.end - this.cursorA : this.cursorB - B_STREAM.start;
  }
  slotsLeft(side: 'A' | 'B'): number {
    return SLOTS - (side === 'A' ? this.indexA : this.indexB);
  }
}

type Cmd =
  | { t: 'send'; from: 'A' | 'B'; len: number }
  | { t: 'deliver'; pick: number }
  | { t: 'forge'; pick: number; bit: number }
  | { t: 'truncate'; pick: number; cut: number }
  | { t: 'reflect'; pick: number }
  | { t: 'restart' };

const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constant('send' as const),
      from: fc.constantFrom('A' as const, 'B' as const),
      len: fc.integer({ min: 1, max: 300 }),
    }),
  },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('deliver' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('forge' as const), pick: fc.nat(), bit: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('truncate' as const), pick: fc.nat(), cut: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('reflect' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('restart' as const) }) },
);

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

describe('engine against the model', () => {
  it('random operation sequences keep the model and the ledgers in agreement', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(cmdArb, { minLength: 5, maxLength: 40 }), fc.integer(), async (cmds, seed) => {
        pair?.cleanup();
        pair = makePair(SIZE, `model-${seed}`);
        const p = pair;
        let a: DeviceEngine = p.openA();
        let b: DeviceEngine = p.openB();
        const m = new Model();
        const receiverOf = (from: 'A' | 'B') => (from === 'A' ? b : a);
        const dirOf = (from: 'A' | 'B') => (from === 'A' ? p.dirB : p.dirA);
        for (const c of cmds) {
          if (c.t === 'send') {
            const eng = c.from === 'A' ? a : b;
            const plaintext = Uint8Array.from({ length: c.len }, (_, i) => (i * 7 + c.len) & 0xff);
            if (m.streamLeft(c.from) < c.len || m.slotsLeft(c.from) < 1) {
              expect(await codeOf(eng.package(c.from === 'A' ? 'bob' : 'alice', plaintext))).toBe('PAD_EXHAUSTED');
              continue;
            }
            const r = await eng.package(c.from === 'A' ? 'bob' : 'alice', plaintext);
            expect(r.cost).toBe(c.len + 32);
            const start = c.from === 'A' ? m.cursorA : m.cursorB - c.len;
            const index = c.from === 'A' ? m.indexA++ : m.indexB++;
            if (c.from === 'A') m.cursorA += c.len;
            else m.cursorB -= c.len;
            expect(r.streamLeft).toBe(m.streamLeft(c.from));
            expect(r.keySlotsLeft).toBe(m.slotsLeft(c.from));
            expect(r.remaining).toBe(
              m.slotsLeft(c.from) > 0 && m.streamLeft(c.from) > 0 ? m.streamLeft(c.from) + 32 * m.slotsLeft(c.from) : 0,
            );
            m.sent.push({
              from: c.from,
              pkg: r.package,
              plaintext,
              index,
              start,
              end: start + c.len,
              delivered: false,
            });
          } else if (m.sent.length === 0 || c.t === 'restart') {
            if (c.t === 'restart') {
              a.close();
              b.close();
              a = p.openA();
              b = p.openB();
            }
          } else {
            const s = m.sent[c.pick % m.sent.length] as Sent;
            const rx = receiverOf(s.from);
            if (c.t === 'deliver') {
              const before = stateHash(dirOf(s.from));
              if (s.delivered) {
                expect(await codeOf(rx.unpackage(s.pkg))).toBe('REPLAY');
                expect(stateHash(dirOf(s.from))).toBe(before);
                continue;
              }
              const r = await rx.unpackage(s.pkg);
              expect(r.plaintext).toEqual(s.plaintext);
              // Gaps: the model's frontier says what was skipped.
              if (s.from === 'A') {
                expect(r.gaps).toEqual(s.start > m.frontierOfA ? [{ start: m.frontierOfA, end: s.start }] : []);
                expect(r.late).toBe(s.end <= m.frontierOfA);
                m.frontierOfA = Math.max(m.frontierOfA, s.end);
              } else {
                expect(r.gaps).toEqual(s.end < m.frontierOfB ? [{ start: s.end, end: m.frontierOfB }] : []);
                expect(r.late).toBe(s.start >= m.frontierOfB);
                m.frontierOfB = Math.min(m.frontierOfB, s.start);
              }
              s.delivered = true;
            } else {
              const bad = s.pkg.slice();
              let expected: string[];
              let target = rx;
              let dir = dirOf(s.from);
              if (c.t === 'forge') {
                const bit = c.bit % (bad.length * 8);
                bad[bit >> 3] = (bad[bit >> 3] as number) ^ (1 << (bit & 7));
                expected = [
                  'MAC_INVALID',
                  'MALFORMED',
                  'UNSUPPORTED_VERSION',
                  'UNKNOWN_PAD',
                  'REFLECTION',
                  'REPLAY',
                  'OVERLAP',
                ];
              } else if (c.t === 'truncate') {
                expected = ['MALFORMED'];
              } else {
                target = s.from === 'A' ? a : b;
                dir = s.from === 'A' ? p.dirA : p.dirB;
                expected = ['REFLECTION'];
              }
              const input = c.t === 'truncate' ? bad.subarray(0, c.cut % bad.length) : bad;
              const before = stateHash(dir);
              expect(expected).toContain(await codeOf(target.unpackage(input)));
              expect(stateHash(dir)).toBe(before);
            }
          }
        }
        // Every stream range ever issued is disjoint from every other and inside its sender's stream area; every
        // message has its own key slot; and the packages say so.
        const segs = m.sent.map((s) => s).sort((x, y) => x.start - y.start);
        for (let i = 1; i < segs.length; i++) expect(segs[i]!.start).toBeGreaterThanOrEqual(segs[i - 1]!.end);
        for (const s of m.sent) {
          const area = s.from === 'A' ? A_STREAM : B_STREAM;
          expect(s.start).toBeGreaterThanOrEqual(area.start);
          expect(s.end).toBeLessThanOrEqual(area.end);
          expect(parsePackage(s.pkg)).toMatchObject({ side: s.from, index: s.index, streamStart: s.start });
        }
        // The ledgers agree with the model.
        expect(a.pads()[0]).toMatchObject({ cursor: m.cursorA, sendIndex: m.indexA });
        expect(b.pads()[0]).toMatchObject({ cursor: m.cursorB, sendIndex: m.indexB });
        expect(b.received(p.padId).length).toBe(m.sent.filter((s) => s.from === 'A' && s.delivered).length);
        expect(a.received(p.padId).length).toBe(m.sent.filter((s) => s.from === 'B' && s.delivered).length);
      }),
      { numRuns: 40 },
    );
  });

  it('a forged package leaves the ledger and the pad file byte-identical, whatever the input', async () => {
    pair = makePair(SIZE, 'forgery');
    const a = pair.openA();
    const b = pair.openB();
    const valid = await a.package('bob', new TextEncoder().encode('the real one'));
    const before = stateHash(pair.dirB);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 200 }),
          fc.nat(valid.package.length * 8 - 1).map((bit) => {
            const x = valid.package.slice();
            x[bit >> 3] = (x[bit >> 3] as number) ^ (1 << (bit & 7));
            return x;
          }),
          fc.nat(valid.package.length - 1).map((n) => valid.package.slice(0, n)),
        ),
        async (bytes) => {
          const code = await codeOf(b.unpackage(bytes));
          expect(code).not.toBe('OK');
          expect(stateHash(pair!.dirB)).toBe(before);
        },
      ),
      { numRuns: 500 },
    );
    expect((await b.unpackage(valid.package)).plaintext).toEqual(new TextEncoder().encode('the real one'));
  });
});
