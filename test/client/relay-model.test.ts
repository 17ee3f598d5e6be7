/**
 * The relay store against a tiny in-memory model: random sequences of inserts, fetches, acks, sweeps, clock
 * steps and restarts (close and reopen the file) agree with the model, refs only grow, and limits hold.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RelayStore } from '../../client/relay-store.js';
import { isOnepadError } from '../../device/errors.js';

const NAMES = ['alice', 'bob', 'carol'] as const;
const LIMITS = { maxWaitingPerRecipient: 4, maxWaitingTotal: 7, maxNames: 10 };

type Op =
  | { op: 'insert'; from: number; to: number; size: number }
  | { op: 'fetch'; to: number; after: number; limit: number }
  | { op: 'ack'; to: number; picks: number[] }
  | { op: 'sweep'; age: number }
  | { op: 'tick'; ms: number }
  | { op: 'restart' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant('insert' as const),
      from: fc.nat(2),
      to: fc.nat(2),
      size: fc.integer({ min: 1, max: 40 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('fetch' as const),
      to: fc.nat(2),
      after: fc.nat(20),
      limit: fc.integer({ min: 1, max: 5 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('ack' as const),
      to: fc.nat(2),
      picks: fc.array(fc.nat(30), { maxLength: 4 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('sweep' as const), age: fc.integer({ min: 0, max: 50 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 20 }) }) },
  { weight: 1, arbitrary: fc.constant({ op: 'restart' as const }) },
);

interface ModelMsg {
  ref: number;
  from: string;
  to: string;
  size: number;
  time: number;
  fill: number;
}

describe('relay store against a model', () => {
  it('agrees with the model on random operation sequences', () => {
    const dir = mkdtempSync(join(tmpdir(), 'onepad-relay-model-'));
    let run = 0;
    try {
      fc.assert(
        fc.property(fc.array(opArb, { minLength: 20, maxLength: 60 }), (ops) => {
          const path = join(dir, `r${run++}.db`);
          let store = RelayStore.open(path, LIMITS);
          let model: ModelMsg[] = [];
          let now = 1000;
          let lastRef = 0;
          try {
            for (const o of ops) {
              switch (o.op) {
                case 'insert': {
                  const from = NAMES[o.from] as string;
                  const to = NAMES[o.to] as string;
                  const fill = (lastRef + o.size) % 256;
                  const full =
                    model.filter((m) => m.to === to).length >= LIMITS.maxWaitingPerRecipient ||
                    model.length >= LIMITS.maxWaitingTotal;
                  let ref: number | null = null;
                  try {
                    ref = store.insert(from, to, new Uint8Array(o.size).fill(fill), now);
                  } catch (e) {
                    expect(isOnepadError(e, 'RELAY_FULL')).toBe(true);
                  }
                  expect(ref === null).toBe(full);
                  if (ref !== null) {
                    expect(ref).toBeGreaterThan(lastRef);
                    lastRef = ref;
                    model.push({ ref, from, to, size: o.size, time: now, fill });
                  }
                  break;
                }
                case 'fetch': {
                  const to = NAMES[o.to] as string;
                  const got = store.fetch(to, o.after, o.limit, 0);
                  const want = model.filter((m) => m.to === to && m.ref > o.after).slice(0, o.limit);
                  expect(got.map((m) => [m.ref, m.from, m.size, m.time, m.package[0]])).toEqual(
                    want.map((m) => [m.ref, m.from, m.size, m.time, m.fill]),
                  );
                  break;
                }
                case 'ack': {
                  const to = NAMES[o.to] as string;
                  // Mostly refs that wait (for this recipient or another), sometimes refs that never existed.
                  const refs = [
                    ...new Set(
                      o.picks.map((i) => (i < 20 ? (model[i % Math.max(1, model.length)]?.ref ?? i) : 1000 + i)),
                    ),
                  ];
                  const deleted = store.ack(to, refs);
                  const before = model.length;
                  model = model.filter((m) => !(m.to === to && refs.includes(m.ref)));
                  expect(deleted).toBe(before - model.length);
                  break;
                }
                case 'sweep': {
                  const cut = now - o.age;
                  const before = model.length;
                  model = model.filter((m) => m.time >= cut);
                  expect(store.sweep(cut)).toBe(before - model.length);
                  break;
                }
                case 'tick':
                  now += o.ms;
                  break;
                case 'restart':
                  store.close();
                  store = RelayStore.open(path, LIMITS);
                  break;
              }
              expect(store.count()).toBe(model.length);
            }
          } finally {
            store.close();
            rmSync(path, { force: true });
            rmSync(`${path}-wal`, { force: true });
            rmSync(`${path}-shm`, { force: true });
          }
        }),
        { numRuns: 60 },
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
