/**
 * Crash safety: a child process dies by SIGKILL at each named point of the package and unpackage paths, and at
 * random moments of a packaging loop; after each, the data dir is reopened and the invariants are checked.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { CRASH_POINTS } from '../../device/engine.js';
import { padFilePath } from '../../device/pad-file.js';
import { parsePackage } from '../../device/wire.js';
import { runAndKill, runTs } from '../helpers/child.js';
import { makePair, type Pair, text, utf8 } from '../helpers/engine-fixture.js';

const CHILD = 'test/engine/crash-child.ts';
let pair: Pair | undefined;
afterEach(() => {
  pair?.cleanup();
  pair = undefined;
});

const padBytes = (dir: string, padId: string) => readFileSync(padFilePath(`${dir}/pads`, padId));
// A 4096-byte pad: 10 key slots per side (default typical length 160), A's stream area starts at 320.
const A_STREAM = 320;
const zero = (b: Uint8Array) => b.every((x) => x === 0);

describe('crash points on the package path', () => {
  const sendPoints = CRASH_POINTS.filter((p) => !p.startsWith('recv-'));
  it.each(sendPoints)('killed at %s: key slot and stream reserved, burned at restart, never reused', async (point) => {
    pair = makePair(4096);
    const r = runTs(CHILD, ['package', pair.dirA, point]);
    expect(r.signal).toBe('SIGKILL');
    expect(r.stdout).toBe('');
    const a = pair.openA();
    const b = pair.openB();
    // The reservation was durable: key slot 0 and the lost message's 10 stream bytes are used.
    expect(a.pads()[0]).toMatchObject({ cursor: A_STREAM + 10, sendIndex: 1 });
    // Recovery burned both.
    const bytes = padBytes(pair.dirA, pair.padId);
    expect(zero(bytes.subarray(0, 32))).toBe(true);
    expect(zero(bytes.subarray(A_STREAM, A_STREAM + 10))).toBe(true);
    const next = await a.package('bob', utf8('after the crash'));
    expect(parsePackage(next.package)).toMatchObject({ index: 1, streamStart: A_STREAM + 10 });
    const got = await b.unpackage(next.package);
    expect(text(got.plaintext)).toBe('after the crash');
    expect(got.gaps).toEqual([{ start: A_STREAM, end: A_STREAM + 10 }]);
    if (point !== 'before-reply') {
      expect(a.events.recent(20).some((e) => e.kind === 'CRASH_RECOVERY')).toBe(true);
    }
  });

  it('without a crash the child prints a package B accepts (the harness itself works)', async () => {
    pair = makePair(4096);
    const r = runTs(CHILD, ['package', pair.dirA, 'none']);
    expect(r.status).toBe(0);
    const b = pair.openB();
    expect(text((await b.unpackage(Buffer.from(r.stdout.trim(), 'hex'))).plaintext)).toBe('crash test');
  });
});

describe('crash points on the unpackage path', () => {
  const recvPoints = CRASH_POINTS.filter((p) => p.startsWith('recv-'));
  it.each(recvPoints)('killed at %s: recorded once or not at all, never decrypted twice', async (point) => {
    pair = makePair(4096);
    const a = pair.openA();
    const sent = await a.package('bob', utf8('crash test'));
    const hex = Buffer.from(sent.package).toString('hex');
    const r = runTs(CHILD, ['unpackage', pair.dirB, point, hex]);
    expect(r.signal).toBe('SIGKILL');
    const b = pair.openB();
    if (point === 'recv-after-verify') {
      // Nothing was committed: the package is still good, and decrypts now.
      expect(b.received(pair.padId)).toEqual([]);
      expect(text((await b.unpackage(sent.package)).plaintext)).toBe('crash test');
    } else {
      // Committed: recorded exactly once, burned by now, and refused as a replay.
      expect(b.received(pair.padId)).toEqual([{ start: A_STREAM, end: A_STREAM + 10 }]);
      const bytes = padBytes(pair.dirB, pair.padId);
      expect(zero(bytes.subarray(0, 32))).toBe(true);
      expect(zero(bytes.subarray(A_STREAM, A_STREAM + 10))).toBe(true);
      await expect(b.unpackage(sent.package)).rejects.toMatchObject({ code: 'REPLAY' });
    }
  });
});

describe('random kills of a packaging loop', () => {
  const runs = Number(process.env.ONEPAD_CRASH_RUNS ?? 100);
  it(`${runs} kills at random moments: every issued message has its own key slot and stream, and decrypts on the peer exactly once`, async () => {
    pair = makePair(1 << 20, 'random-kills');
    const issued: Uint8Array[] = [];
    let seed = 0x9e3779b9;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    // On a loaded machine a run may be killed before it issues anything: go on (up to 5× the runs) until more
    // messages than runs were issued, so the checks below have something to find.
    for (let i = 0; i < runs || (issued.length <= runs && i < runs * 5); i++) {
      const { lines } = await runAndKill(CHILD, ['loop', pair.dirA], Math.floor(rand() * 60));
      for (const l of lines) if (l !== 'ready') issued.push(Buffer.from(l, 'hex'));
    }
    expect(issued.length).toBeGreaterThan(runs);
    const headers = issued.map((p) => parsePackage(p));
    const segs = headers.map((h) => ({ start: h.streamStart, end: h.streamStart + h.length }));
    const sorted = [...segs].sort((x, y) => x.start - y.start);
    for (let i = 1; i < sorted.length; i++) expect(sorted[i]!.start).toBeGreaterThanOrEqual(sorted[i - 1]!.end);
    const indexes = headers.map((h) => h.index);
    expect(new Set(indexes).size).toBe(indexes.length);
    const a = pair.openA();
    const pad = a.pads()[0]!;
    expect(pad.cursor).toBeGreaterThanOrEqual(sorted.at(-1)!.end);
    expect(pad.sendIndex).toBeGreaterThan(Math.max(...indexes));
    // Nothing queued for burning is left after recovery: every key slot below the send index and every stream
    // byte below the cursor is burned.
    const bytes = padBytes(pair.dirA, pair.padId);
    expect(zero(bytes.subarray(0, 32 * pad.sendIndex))).toBe(true);
    expect(zero(bytes.subarray(32 * pad.keySlotsA, pad.cursor))).toBe(true);
    const b = pair.openB();
    for (const p of issued) expect((await b.unpackage(p)).length).toBe(p.length - 50);
    for (const p of issued.slice(0, 20)) await expect(b.unpackage(p)).rejects.toMatchObject({ code: 'REPLAY' });
  }, 900_000);
});
