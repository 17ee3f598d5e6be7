/**
 * Pipe sessions in the engine: one approval on the screen, then frames without approval, chunked durable
 * reservations, and the attacks a hostile laptop would try: no screen, a guessed id, more than the budget, after
 * Stop or expiry, frames longer than the padding, a batch with one forged or replayed package.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { DeviceEngine } from '../../device/engine.js';
import { isOnepadError } from '../../device/errors.js';
import { sideAreas } from '../../device/layout.js';
import { padFilePath } from '../../device/pad-file.js';
import { parsePackage } from '../../device/wire.js';
import { makePair, type Pair, ScriptedConfirmer, utf8 } from '../helpers/engine-fixture.js';
import { padGivenUp, SessionScreen } from './session-helpers.js';

let pair: Pair | undefined;
afterEach(() => {
  pair?.cleanup();
  pair = undefined;
});

const ASK = { budgetBytes: 200_000, timeLimitSec: 600, frameSize: null };

async function codeOf(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    if (isOnepadError(e)) return e.code;
    throw e;
  }
  return 'no error';
}

function frames(n: number, len: (i: number) => number): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => new Uint8Array(len(i)).map((_, j) => (i * 31 + j) & 0xff));
}

/** Every key slot and stream range the packages claim: inside the sender's key and stream areas, none twice. */
function checkInvariant(engine: DeviceEngine, pkgs: Uint8Array[]): void {
  const pad = engine.pads()[0]!;
  const areas = sideAreas(pad, pad.side);
  const slots = new Set<number>();
  const ranges: [number, number][] = [];
  for (const b of pkgs) {
    const p = parsePackage(b);
    expect(p.index).toBeLessThan(areas.slots);
    expect(slots.has(p.index)).toBe(false);
    slots.add(p.index);
    const r: [number, number] = [p.streamStart, p.streamStart + p.length];
    expect(r[0]).toBeGreaterThanOrEqual(areas.stream.start);
    expect(r[1]).toBeLessThanOrEqual(areas.stream.end);
    ranges.push(r);
  }
  ranges.sort((x, y) => x[0] - y[0]);
  for (let i = 1; i < ranges.length; i++) expect(ranges[i]![0]).toBeGreaterThanOrEqual(ranges[i - 1]![1]);
}

describe('pipe session: approved once, then frames', () => {
  it('packages many frames across chunks as v2 packages the peer unpackages in one session', async () => {
    pair = makePair(1 << 20);
    const screenA = new SessionScreen();
    const screenB = new SessionScreen();
    const a = pair.openA({ confirmer: screenA, sessionLimits: { maxChunkSlots: 8, maxChunkStream: 2048 } });
    const b = pair.openB({ confirmer: screenB });
    const sa = await a.openSession('bob', ASK);
    const sb = await b.openSession('alice', ASK);
    expect(screenA.asked).toHaveLength(1);
    expect(screenA.asked[0]).toMatchObject({ contact: 'bob', budgetBytes: 200_000, timeLimitSec: 600, insecure: true });
    const all: Uint8Array[] = [];
    const sent: Uint8Array[] = [];
    for (let req = 0; req < 20; req++) {
      const fr = frames(7, (i) => 1 + (((req * 7 + i) * 53) % 700));
      const r = a.sessionPackage(sa.id, fr);
      expect(r.packages).toHaveLength(7);
      all.push(...r.packages);
      sent.push(...fr);
      const got = b.sessionUnpackage(sb.id, r.packages);
      expect(got.frames.map((f) => Buffer.from(f.plaintext))).toEqual(fr.map((f) => Buffer.from(f)));
      // In order; gaps are the unused rest of the sender's chunks (no GAP event is raised for them).
      expect(got.frames.every((f) => !f.late)).toBe(true);
    }
    // No further approval was asked, on either side.
    expect(screenA.asked).toHaveLength(1);
    checkInvariant(a, all);
    const view = a.runningSessions()[0]!;
    expect(view.framesSent).toBe(140);
    expect(view.sentBytes).toBe(sent.reduce((n, f) => n + f.length, 0));
    // The ledger gave up exactly what the session counts, within its budget.
    expect(padGivenUp(a)).toBe(view.usedBytes);
    expect(view.usedBytes).toBeLessThanOrEqual(ASK.budgetBytes);
    expect(b.runningSessions()[0]).toMatchObject({ framesReceived: 140, receivedBytes: view.sentBytes });
    expect(screenA.views.at(-1)).toMatchObject({ state: 'running', framesSent: 140 });
    expect(b.events.recent(50).some((e) => e.kind === 'GAP')).toBe(false);
  });

  it('reserves in chunks: far fewer durable reservations than frames', async () => {
    pair = makePair(1 << 20);
    const a = pair.openA({ confirmer: new SessionScreen() });
    const s = await a.openSession('bob', ASK);
    let before = a.pads()[0]!.sendIndex;
    const r1 = a.sessionPackage(
      s.id,
      frames(50, () => 100),
    );
    // One request, one chunk: 50 slots reserved at once.
    expect(a.pads()[0]!.sendIndex - before).toBe(50);
    before = a.pads()[0]!.sendIndex;
    expect(r1.packages).toHaveLength(50);
    const r2 = a.sessionPackage(
      s.id,
      frames(10, () => 100),
    );
    expect(r2.packages).toHaveLength(10);
    // The first chunk was used up, so the next one is larger than the request (it grew).
    expect(a.pads()[0]!.sendIndex - before).toBe(100);
  });

  it('pads every frame to the frame size, and the pad cost follows it', async () => {
    pair = makePair(1 << 20);
    const a = pair.openA({ confirmer: new SessionScreen() });
    const b = pair.openB({ confirmer: new SessionScreen() });
    const sa = await a.openSession('bob', { ...ASK, frameSize: 1024 });
    const sb = await b.openSession('alice', ASK);
    const r = a.sessionPackage(sa.id, [utf8('ls -l\n'), utf8('x')]);
    expect(r.packages.map((p) => p.length)).toEqual([1024 + 50, 1024 + 50]);
    const got = b.sessionUnpackage(sb.id, r.packages);
    expect(Buffer.from(got.frames[0]!.plaintext.subarray(0, 6)).toString()).toBe('ls -l\n');
    expect(got.frames[0]!.plaintext.subarray(6).every((x) => x === 0)).toBe(true);
    expect(await codeOf(() => a.sessionPackage(sa.id, [new Uint8Array(1025).fill(1)]))).toBe('MESSAGE_TOO_LONG');
  });
});

describe('pipe session: what a hostile laptop tries', () => {
  it('cannot open a session without the screen: no confirmSession, denied, timed out', async () => {
    pair = makePair(1 << 16);
    const plain = pair.openA({ confirmer: new ScriptedConfirmer('approved') });
    expect(await codeOf(plain.openSession('bob', ASK))).toBe('SESSION_UNAVAILABLE');
    plain.close();
    const denied = pair.openA({ confirmer: new SessionScreen({ decision: 'denied' }) });
    expect(await codeOf(denied.openSession('bob', ASK))).toBe('DENIED');
    denied.close();
    const timeout = pair.openA({ confirmer: new SessionScreen({ decision: 'timeout' }) });
    expect(await codeOf(timeout.openSession('bob', ASK))).toBe('CONFIRM_TIMEOUT');
    expect(timeout.runningSessions()).toEqual([]);
    expect(timeout.pads()[0]!.sendIndex).toBe(0);
  });

  it('cannot package with a guessed, malformed or ended id, and nothing is reserved', async () => {
    pair = makePair(1 << 16);
    const a = pair.openA({ confirmer: new SessionScreen() });
    expect(await codeOf(() => a.sessionPackage('0'.repeat(32), [utf8('x')]))).toBe('SESSION_UNKNOWN');
    expect(await codeOf(() => a.sessionPackage('not an id', [utf8('x')]))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(() => a.sessionUnpackage('f'.repeat(32), []))).toBe('SESSION_UNKNOWN');
    const s = await a.openSession('bob', ASK);
    expect(await codeOf(() => a.sessionPackage(s.id.toUpperCase(), [utf8('x')]))).toBe('INVALID_ARGUMENT');
    a.endSession(s.id);
    const used = padGivenUp(a);
    expect(await codeOf(() => a.sessionPackage(s.id, [utf8('x')]))).toBe('SESSION_ENDED');
    expect(padGivenUp(a)).toBe(used);
  });

  it('cannot open a second session while one runs, nor a session under private receive', async () => {
    pair = makePair(1 << 16);
    const a = pair.openA({ confirmer: new SessionScreen() });
    await a.openSession('bob', ASK);
    expect(await codeOf(a.openSession('bob', ASK))).toBe('SESSION_UNAVAILABLE');
    a.close();
    const priv = pair.openA(
      { confirmer: new SessionScreen(), privateDisplay: { showReceived: () => undefined } },
      { confirm: { privateReceive: true } },
    );
    let reason: unknown;
    try {
      await priv.openSession('bob', ASK);
    } catch (e) {
      reason = isOnepadError(e, 'SESSION_UNAVAILABLE') && e.details.reason;
    }
    expect(reason).toBe('private-receive');
  });

  it('cannot widen the bounds: budgets and times outside the limits are refused, also from a faulty screen', async () => {
    pair = makePair(1 << 16);
    const a = pair.openA({ confirmer: new SessionScreen() });
    for (const bad of [0, 32, -1, 1.5, Number.NaN, 2 ** 60]) {
      expect(await codeOf(a.openSession('bob', { ...ASK, budgetBytes: bad }))).toBe('INVALID_ARGUMENT');
    }
    for (const bad of [0, -5, 10 ** 9]) {
      expect(await codeOf(a.openSession('bob', { ...ASK, timeLimitSec: bad }))).toBe('INVALID_ARGUMENT');
    }
    expect(await codeOf(a.openSession('bob', { ...ASK, frameSize: 0 }))).toBe('INVALID_ARGUMENT');
    a.close();
    const faulty = pair.openA({
      confirmer: new SessionScreen({ decision: 'approved', budgetBytes: 2 ** 60, timeLimitSec: 60 }),
    });
    expect(await codeOf(faulty.openSession('bob', ASK))).toBe('INVALID_ARGUMENT');
    expect(faulty.runningSessions()).toEqual([]);
  });

  it('cannot exceed the budget the owner chose on screen (lower than asked): the session ends at it', async () => {
    pair = makePair(1 << 20);
    const screen = new SessionScreen((r) => ({
      decision: 'approved',
      budgetBytes: 1000,
      timeLimitSec: r.timeLimitSec,
    }));
    const a = pair.openA({ confirmer: screen });
    const s = await a.openSession('bob', ASK);
    expect(s.budgetBytes).toBe(1000);
    // 20 frames of 100 bytes cost 20 * 132 = 2640: only 7 fit in 1000 (7 * 132 = 924; an 8th would need 1056).
    const r = a.sessionPackage(
      s.id,
      frames(20, () => 100),
    );
    expect(r.packages).toHaveLength(7);
    expect(r.session).toMatchObject({ state: 'ended', endReason: 'budget' });
    expect(padGivenUp(a)).toBeLessThanOrEqual(1000);
    expect(await codeOf(() => a.sessionPackage(s.id, [utf8('x')]))).toBe('SESSION_ENDED');
    expect(padGivenUp(a)).toBeLessThanOrEqual(1000);
  });

  it('property: whatever frames a laptop sends, the pad given up equals the session count and never exceeds the budget', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 33, max: 6000 }),
        fc.array(fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 0, maxLength: 12 }), { maxLength: 12 }),
        fc.option(fc.integer({ min: 1, max: 300 }), { nil: null }),
        async (budget, requests, frameSize) => {
          const p = makePair(1 << 16);
          try {
            const a = p.openA({
              confirmer: new SessionScreen(),
              sessionLimits: { maxChunkSlots: 5, maxChunkStream: 700 },
            });
            const b = p.openB({ confirmer: new SessionScreen() });
            const s = await a.openSession('bob', { budgetBytes: budget, timeLimitSec: 60, frameSize });
            const sb = await b.openSession('alice', ASK);
            const all: Uint8Array[] = [];
            for (const lens of requests) {
              const fr = lens.map((l) => new Uint8Array(frameSize ? Math.min(l, frameSize) : l).fill(7));
              let r: ReturnType<DeviceEngine['sessionPackage']>;
              try {
                r = a.sessionPackage(s.id, fr);
              } catch (e) {
                expect(isOnepadError(e, 'SESSION_ENDED')).toBe(true);
                break;
              }
              all.push(...r.packages);
              if (r.packages.length > 0) b.sessionUnpackage(sb.id, r.packages);
              const given = padGivenUp(a);
              expect(given).toBe(r.session.usedBytes);
              expect(given).toBeLessThanOrEqual(budget);
              if (r.packages.length < fr.length) {
                // Refused only when the next frame could not fit in what the budget had left.
                expect(r.session.endReason).toBe('budget');
                const need = 32 + (frameSize ?? (fr[r.packages.length] as Uint8Array).length);
                expect(budget - given).toBeLessThan(need);
                break;
              }
            }
            checkInvariant(a, all);
          } finally {
            p.cleanup();
          }
        },
      ),
      { numRuns: 15 },
    );
  });

  it('cannot use a session after Stop on the screen; the screen is told', async () => {
    pair = makePair(1 << 16);
    const screen = new SessionScreen();
    const a = pair.openA({ confirmer: screen });
    const s = await a.openSession('bob', ASK);
    a.sessionPackage(s.id, [utf8('before stop')]);
    screen.stop?.();
    expect(screen.views.at(-1)).toMatchObject({ state: 'ended', endReason: 'stopped' });
    const used = padGivenUp(a);
    expect(await codeOf(() => a.sessionPackage(s.id, [utf8('after stop')]))).toBe('SESSION_ENDED');
    expect(padGivenUp(a)).toBe(used);
    expect(a.events.recent(5).some((e) => e.kind === 'SESSION_ENDED' && e.detail.reason === 'stopped')).toBe(true);
  });

  it('cannot use a session after its time limit, nor after the laptop went quiet', async () => {
    pair = makePair(1 << 16);
    let now = 1_000_000;
    const a = pair.openA({ confirmer: new SessionScreen(), now: () => now, sessionLimits: { idleMs: 5000 } });
    const s = await a.openSession('bob', { ...ASK, timeLimitSec: 10 });
    now += 4000;
    a.sessionPackage(s.id, []);
    now += 4000;
    a.sessionPackage(s.id, [utf8('still in time')]);
    now += 2001;
    expect(await codeOf(() => a.sessionPackage(s.id, [utf8('late')]))).toBe('SESSION_ENDED');
    expect(a.runningSessions()).toEqual([]);
    const s2 = await a.openSession('bob', ASK);
    now += 5001;
    let err: unknown;
    try {
      a.sessionPackage(s2.id, [utf8('x')]);
    } catch (e) {
      err = e;
    }
    expect(isOnepadError(err, 'SESSION_ENDED') && err.details.reason).toBe('idle');
  });

  it('a batch with one forged or replayed package is refused whole and records nothing', async () => {
    pair = makePair(1 << 16);
    const a = pair.openA({ confirmer: new SessionScreen() });
    const b = pair.openB({ confirmer: new SessionScreen() });
    const sa = await a.openSession('bob', ASK);
    const sb = await b.openSession('alice', ASK);
    const [p0, p1, p2] = a.sessionPackage(sa.id, [utf8('one'), utf8('two'), utf8('three')]).packages as [
      Uint8Array,
      Uint8Array,
      Uint8Array,
    ];
    const forged = p2.slice();
    forged[40] = (forged[40] as number) ^ 1;
    expect(await codeOf(() => b.sessionUnpackage(sb.id, [p0, p1, forged]))).toBe('MAC_INVALID');
    expect(b.received(pair!.padId)).toEqual([]);
    expect(await codeOf(() => b.sessionUnpackage(sb.id, [p0, p1, p0]))).toBe('REPLAY');
    expect(b.received(pair!.padId)).toEqual([]);
    const ok = b.sessionUnpackage(sb.id, [p0, p1, p2]);
    expect(ok.frames.map((f) => Buffer.from(f.plaintext).toString())).toEqual(['one', 'two', 'three']);
    expect(await codeOf(() => b.sessionUnpackage(sb.id, [p2]))).toBe('REPLAY');
    // Received ranges are burned in batches: by the time the session ends they are zero in the pad file.
    b.endSession(sb.id);
    const file = readFileSync(padFilePath(`${pair!.dirB}/pads`, pair!.padId));
    for (const p of [p0, p1, p2].map((x) => parsePackage(x))) {
      expect(file.subarray(p.streamStart, p.streamStart + p.length).every((x) => x === 0)).toBe(true);
    }
  });

  it('ending the session on the device (close) ends it for the laptop too', async () => {
    pair = makePair(1 << 16);
    const screen = new SessionScreen();
    const a = pair.openA({ confirmer: screen });
    await a.openSession('bob', ASK);
    a.close();
    expect(screen.views.at(-1)).toMatchObject({ state: 'ended', endReason: 'shutdown' });
  });
});
