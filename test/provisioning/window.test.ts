/**
 * The windowed chunk exchange against peers written by hand to break it: a peer that waits to see our bytes
 * before committing, one that reveals before committing, one that sends commitments out of order or too far
 * ahead. And two honest sides with different windows, one of them drawing from a real entropy pool (deferred
 * burn): the same pad, the XOR of both contributions, every drawn pool byte burned at the end.
 */
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dataDirLayout } from '../../device/data-dir.js';
import { padFilePath } from '../../device/pad-file.js';
import { EntropyPool } from '../../hrng/pool.js';
import { SimStream } from '../../hrng/sim-source.js';
import { FrameConnection } from '../../provisioning/connection.js';
import { commitment } from '../../provisioning/fingerprint.js';
import { encodeFrame, FRAME, type Frame, jsonFrame, parseJson } from '../../provisioning/frames.js';
import { type PairingResult, runPairing } from '../../provisioning/protocol.js';
import { MAX_WINDOW } from '../../provisioning/transfer.js';
import {
  depsFor,
  makeSide,
  padFiles,
  ScriptedApprover,
  SeededSource,
  type Side,
  socketPair,
  tempRoot,
  testPairingConfig,
} from './pairing-fixture.js';

let tmp: ReturnType<typeof tempRoot>;
let alice: Side;
let bob: Side;
beforeEach(() => {
  tmp = tempRoot();
  alice = makeSide(tmp.root, 'alice');
  bob = makeSide(tmp.root, 'bob');
});
afterEach(() => {
  for (const s of [alice, bob]) {
    s.ledger.close();
    s.events.close();
  }
  tmp.cleanup();
});

async function settle<T>(p: Promise<T>): Promise<T | { code: string }> {
  try {
    return await p;
  } catch (e) {
    return { code: (e as { code: string }).code };
  }
}

const CHUNK = 4096;

/** A hand-written responder: HELLO, ACCEPT, then whatever the test does. */
async function mallory(conn: FrameConnection, size: number): Promise<Uint8Array> {
  await conn.send(
    jsonFrame(FRAME.HELLO, { v: 2, name: 'mallory', role: 'responder', available: size, max: 1e9, insecure: false }),
  );
  await conn.expect(FRAME.HELLO, 2000);
  const proposal = parseJson(await conn.expect(FRAME.PROPOSE, 2000));
  await conn.send(jsonFrame(FRAME.ACCEPT, {}));
  return Buffer.from(proposal.padId as string, 'hex');
}

function indexed(i: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + data.length);
  new DataView(out.buffer).setUint32(0, i, false);
  out.set(data, 4);
  return out;
}

/** Every frame the honest side sends within `ms`. */
async function framesWithin(conn: FrameConnection, ms: number): Promise<Frame[]> {
  const got: Frame[] = [];
  const until = Date.now() + ms;
  for (;;) {
    const left = until - Date.now();
    if (left <= 0) return got;
    try {
      got.push(await conn.receive(left));
    } catch {
      return got;
    }
  }
}

describe('windowed chunk exchange', () => {
  it('never reveals a chunk before it holds the peer commitment for it, however long the peer waits', async () => {
    const [s1, s2] = await socketPair();
    const honest = settle(
      runPairing(
        depsFor(alice, 'initiator', 'alice', s1, new SeededSource('a', 100_000), new ScriptedApprover(), {
          requestedSize: 20 * CHUNK,
          config: testPairingConfig({ window: 8, ioTimeoutMs: 1500 }),
        }),
      ),
    );
    const peer = new FrameConnection(s2, 1 << 20);
    await mallory(peer, 100_000);
    const seen = await framesWithin(peer, 1000);
    // Eight commitments, and not one byte of the pad's chunks.
    expect(seen.map((f) => f.type)).toEqual(Array(8).fill(FRAME.COMMIT));
    // Committing to chunk 0 now releases exactly chunk 0.
    await peer.send(encodeFrame(FRAME.COMMIT, indexed(0, commitment(new Uint8Array(16), 0, 'B', new Uint8Array(1)))));
    const next = await framesWithin(peer, 300);
    expect(next.map((f) => [f.type, new DataView(f.payload.buffer, f.payload.byteOffset).getUint32(0)])).toEqual([
      [FRAME.REVEAL, 0],
    ]);
    expect(await honest).toEqual({ code: 'PAIRING_TIMEOUT' });
    expect(alice.ledger.pads()).toEqual([]);
    expect(padFiles(alice)).toEqual([]);
    peer.close();
  });

  it.each([
    [
      'reveals before committing',
      async (_p: Uint8Array) => [encodeFrame(FRAME.REVEAL, indexed(0, new Uint8Array(CHUNK)))],
    ],
    [
      'sends commitments out of order',
      async (p: Uint8Array) => [encodeFrame(FRAME.COMMIT, indexed(1, commitment(p, 1, 'B', new Uint8Array(CHUNK))))],
    ],
    [
      'sends one commitment twice',
      async (p: Uint8Array) => {
        const c = encodeFrame(FRAME.COMMIT, indexed(0, commitment(p, 0, 'B', new Uint8Array(CHUNK))));
        return [c, c];
      },
    ],
    [
      'commits to a chunk past the end of the pad',
      async (p: Uint8Array) =>
        Array.from({ length: 21 }, (_, i) =>
          encodeFrame(FRAME.COMMIT, indexed(i, commitment(p, i, 'B', new Uint8Array(CHUNK)))),
        ),
    ],
    [
      `commits more than ${MAX_WINDOW} chunks ahead`,
      async (p: Uint8Array) =>
        Array.from({ length: MAX_WINDOW + 1 }, (_, i) =>
          encodeFrame(FRAME.COMMIT, indexed(i, commitment(p, i, 'B', new Uint8Array(CHUNK)))),
        ),
    ],
    [
      'reveals a chunk of the wrong length',
      async (p: Uint8Array) => [
        encodeFrame(FRAME.COMMIT, indexed(0, commitment(p, 0, 'B', new Uint8Array(CHUNK)))),
        encodeFrame(FRAME.REVEAL, indexed(0, new Uint8Array(CHUNK - 1))),
      ],
    ],
    ['sends a control frame mid-transfer', async () => [jsonFrame(FRAME.ACCEPT, {})]],
  ] as const)('a peer that %s is refused: PAIRING_PROTOCOL, nothing kept', async (_name, frames) => {
    const [s1, s2] = await socketPair();
    const chunks = _name.includes('ahead') ? 100 : 20;
    const honest = settle(
      runPairing(
        depsFor(alice, 'initiator', 'alice', s1, new SeededSource('a', 1_000_000), new ScriptedApprover(), {
          requestedSize: chunks * CHUNK,
          config: testPairingConfig({ window: 4 }),
        }),
      ),
    );
    const peer = new FrameConnection(s2, 1 << 20);
    const padId = await mallory(peer, 1_000_000);
    for (const f of await frames(padId)) await peer.send(f).catch(() => {});
    expect(await honest).toEqual({ code: 'PAIRING_PROTOCOL' });
    expect(alice.ledger.pads()).toEqual([]);
    expect(padFiles(alice)).toEqual([]);
    peer.close();
  });

  it('Cancel (the signal: SIGTERM in the CLI) mid-transfer stops both sides after a chunk, nothing kept', async () => {
    const [s1, s2] = await socketPair();
    const ac = new AbortController();
    let chunks = 0;
    const [ra, rb] = await Promise.all([
      settle(
        runPairing(
          depsFor(alice, 'initiator', 'alice', s1, new SeededSource('a', 400 * CHUNK), new ScriptedApprover(), {
            requestedSize: 400 * CHUNK,
            signal: ac.signal,
            onProgress: () => {
              if (++chunks === 5) ac.abort();
            },
          }),
        ),
      ),
      settle(
        runPairing(depsFor(bob, 'responder', 'bob', s2, new SeededSource('b', 400 * CHUNK), new ScriptedApprover())),
      ),
    ]);
    expect(ra).toEqual({ code: 'CANCELLED' });
    expect(rb).toMatchObject({ code: expect.stringMatching(/^PAIRING_(PEER_ABORTED|PEER_LOST)$/) });
    expect(chunks).toBeLessThan(400);
    for (const s of [alice, bob]) {
      expect(s.ledger.pads()).toEqual([]);
      expect(padFiles(s)).toEqual([]);
    }
  });

  it('Cancel mid-transfer on a real pool: every byte it drew is burned before runPairing returns', async () => {
    const layout = dataDirLayout(alice.dir);
    const pool = EntropyPool.open({ db: alice.ledger.db, path: layout.pool, maxBytes: 4 << 20 });
    const poolBytes = new SimStream('cancel-pool').next(3 << 20);
    pool.append(poolBytes, true);
    const [s1, s2] = await socketPair();
    const ac = new AbortController();
    let chunks = 0;
    try {
      const [ra] = await Promise.all([
        settle(
          runPairing(
            depsFor(alice, 'initiator', 'alice', s1, pool, new ScriptedApprover(), {
              requestedSize: 3 << 20,
              signal: ac.signal,
              onProgress: () => {
                if (++chunks === 5) ac.abort();
              },
            }),
          ),
        ),
        settle(
          runPairing(depsFor(bob, 'responder', 'bob', s2, new SeededSource('b', 3 << 20), new ScriptedApprover())),
        ),
      ]);
      expect(ra).toEqual({ code: 'CANCELLED' });
      const c = pool.counters();
      // It drew ahead (a whole draw batch), and burned all of it: nothing drawn is left in the pool file.
      expect(c.consumed).toBeGreaterThan(5 * CHUNK);
      expect(c.burned).toBe(c.consumed);
      const file = readFileSync(layout.pool);
      expect(file.subarray(0, c.consumed).every((x) => x === 0)).toBe(true);
      expect(Buffer.from(file.subarray(c.consumed, 3 << 20)).equals(Buffer.from(poolBytes.subarray(c.consumed)))).toBe(
        true,
      );
      expect(padFiles(alice)).toEqual([]);
    } finally {
      pool.close();
    }
  });

  it('lock-step against a wide window, one side on a real pool: same pad, XOR of both, pool bytes burned', async () => {
    const size = 37 * CHUNK + 123;
    const layout = dataDirLayout(alice.dir);
    const pool = EntropyPool.open({ db: alice.ledger.db, path: layout.pool, maxBytes: 1 << 20 });
    const poolBytes = new SimStream('window-pool').next(size + 5000);
    pool.append(poolBytes, true);
    const [s1, s2] = await socketPair();
    try {
      const [ra, rb] = (await Promise.all([
        runPairing(
          depsFor(alice, 'initiator', 'alice', s1, pool, new ScriptedApprover(), {
            requestedSize: size,
            config: testPairingConfig({ window: 1 }),
          }),
        ),
        runPairing(
          depsFor(bob, 'responder', 'bob', s2, new SeededSource('b', size), new ScriptedApprover(), {
            config: testPairingConfig({ window: 16 }),
          }),
        ),
      ])) as [PairingResult, PairingResult];
      expect(ra.fingerprint).toBe(rb.fingerprint);
      expect(ra.insecure).toBe(true);
      const padA = readFileSync(padFilePath(alice.padsDir, ra.padId));
      expect(padA.equals(readFileSync(padFilePath(bob.padsDir, rb.padId)))).toBe(true);
      const b = new SeededSource('b', size).take(size).bytes;
      expect(padA.equals(Buffer.from(poolBytes.subarray(0, size).map((x, i) => x ^ (b[i] as number))))).toBe(true);
      expect(pool.counters()).toMatchObject({ consumed: size, burned: size });
      expect(
        readFileSync(layout.pool)
          .subarray(0, size)
          .every((x) => x === 0),
      ).toBe(true);
    } finally {
      pool.close();
    }
  });
});
