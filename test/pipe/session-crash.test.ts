/**
 * SIGKILL mid-stream: a device packaging a pipe session dies at each chunk crash point and at random moments.
 * After a restart no byte of any package that left is handed out again, the peer accepts every package that left
 * and every new one, and what the crash gave up is at most one chunk and the request in flight.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { SESSION_CRASH_POINTS } from '../../device/engine.js';
import { sideAreas } from '../../device/layout.js';
import { padFilePath } from '../../device/pad-file.js';
import { parsePackage } from '../../device/wire.js';
import { runAndKill, runTs } from '../helpers/child.js';
import { makePair, type Pair } from '../helpers/engine-fixture.js';
import { SessionScreen } from './session-helpers.js';

const CHILD = 'test/pipe/session-crash-child.ts';
/** The child's chunk bounds and largest request (3 frames of up to 90 bytes). */
const MAX_CHUNK_SLOTS = 16;
const MAX_CHUNK_STREAM = 2048;
const MAX_REQUEST = { frames: 3, bytes: 270 };

let pair: Pair | undefined;
afterEach(() => {
  pair?.cleanup();
  pair = undefined;
});

async function checkAfterCrash(p: Pair, lines: string[]): Promise<void> {
  const left = lines.filter((l) => /^[0-9a-f]+$/.test(l)).map((l) => Buffer.from(l, 'hex'));
  const a = p.openA({ confirmer: new SessionScreen() });
  const b = p.openB({ confirmer: new SessionScreen() });
  const pad = a.pads()[0]!;
  const areas = sideAreas(pad, 'A');
  const parsed = left.map((x) => parsePackage(x));
  const maxIndex = Math.max(-1, ...parsed.map((x) => x.index));
  const maxEnd = Math.max(areas.stream.start, ...parsed.map((x) => x.streamStart + x.length));
  // Every package that left lies inside what the ledger reserved before the crash.
  expect(pad.sendIndex).toBeGreaterThan(maxIndex);
  expect(pad.cursor).toBeGreaterThanOrEqual(maxEnd);
  // What the crash gave up: at most one chunk and the request in flight.
  expect(pad.sendIndex - (maxIndex + 1)).toBeLessThanOrEqual(MAX_CHUNK_SLOTS + MAX_REQUEST.frames);
  expect(pad.cursor - maxEnd).toBeLessThanOrEqual(MAX_CHUNK_STREAM + MAX_REQUEST.bytes);
  // Recovery burned every reserved byte (the chunks queued for burning in their reservation's transaction).
  const file = readFileSync(padFilePath(`${p.dirA}/pads`, p.padId));
  expect(file.subarray(areas.stream.start, pad.cursor).every((x) => x === 0)).toBe(true);
  expect(file.subarray(0, pad.sendIndex * 32).every((x) => x === 0)).toBe(true);
  // A new session after the restart starts beyond all of it.
  const s = await a.openSession('bob', { budgetBytes: 100_000, timeLimitSec: 60, frameSize: null });
  const fresh = a.sessionPackage(s.id, [new Uint8Array(50).fill(1), new Uint8Array(5).fill(2)]).packages;
  for (const f of fresh.map((x) => parsePackage(x))) {
    expect(f.index).toBeGreaterThan(maxIndex);
    expect(f.streamStart).toBeGreaterThanOrEqual(maxEnd);
  }
  // The peer accepts everything that left and everything new: no replay, no overlap, all authentic.
  const sb = await b.openSession('alice', { budgetBytes: 100_000, timeLimitSec: 60, frameSize: null });
  for (let i = 0; i < left.length; i += 100) b.sessionUnpackage(sb.id, left.slice(i, i + 100));
  const got = b.sessionUnpackage(sb.id, fresh);
  expect(got.frames.map((f) => f.plaintext.length)).toEqual([50, 5]);
  a.close();
  b.close();
}

describe('pipe session: SIGKILL mid-stream reuses no byte', () => {
  it.each(SESSION_CRASH_POINTS)('killed at %s of the third chunk', async (point) => {
    pair = makePair(1 << 20);
    const r = runTs(CHILD, [pair.dirA, point, '3']);
    expect(r.signal).toBe('SIGKILL');
    const lines = r.stdout.split('\n').filter((l) => l.length > 0);
    expect(lines[0]).toBe('ready');
    expect(lines.length).toBeGreaterThan(2);
    await checkAfterCrash(pair, lines.slice(1));
  });

  it.each([150, 400, 900])('killed at a random moment (%i ms after ready)', async (ms) => {
    pair = makePair(4 << 20);
    const r = await runAndKill(CHILD, [pair.dirA, 'random', '0'], ms);
    expect(r.lines[0]).toBe('ready');
    await checkAfterCrash(pair, r.lines.slice(1));
  });
});
