import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../device/config/config.js';
import { DeviceEngine } from '../../device/engine.js';
import { padFilePath } from '../../device/pad-file.js';
import { FrameConnection } from '../../provisioning/connection.js';
import { commitment } from '../../provisioning/fingerprint.js';
import { encodeFrame, FRAME, jsonFrame, parseJson } from '../../provisioning/frames.js';
import { type PadSource, type PairingResult, runPairing } from '../../provisioning/protocol.js';
import { ScriptedConfirmer } from '../helpers/engine-fixture.js';
import {
  depsFor,
  makeSide,
  padFiles,
  ScriptedApprover,
  SeededSource,
  type Side,
  socketPair,
  tempRoot,
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

describe('pairing protocol over loopback', () => {
  it('builds the same pad on both devices: A for the initiator, B for the responder, split at n/2', async () => {
    const [s1, s2] = await socketPair();
    const srcA = new SeededSource('pool-a', 100_000);
    const srcB = new SeededSource('pool-b', 50_000);
    const approverA = new ScriptedApprover();
    const approverB = new ScriptedApprover();
    const progress: number[] = [];
    const [ra, rb] = (await Promise.all([
      runPairing(
        depsFor(alice, 'initiator', 'alice', s1, srcA, approverA, {
          requestedSize: 30_000,
          onProgress: (p) => progress.push(p.bytes),
        }),
      ),
      runPairing(depsFor(bob, 'responder', 'bob', s2, srcB, approverB)),
    ])) as [PairingResult, PairingResult];
    expect(ra).toMatchObject({ contact: 'bob', side: 'A', size: 30_000, insecure: true });
    expect(rb).toMatchObject({ contact: 'alice', side: 'B', size: 30_000, padId: ra.padId });
    expect(ra.fingerprint).toBe(rb.fingerprint);
    expect(ra.fingerprint).toMatch(/^\d{4}( \d{4}){4}$/);
    expect(approverA.asked[0]).toMatchObject({ peer: 'bob', fingerprint: ra.fingerprint, size: 30_000 });
    expect(progress.at(-1)).toBe(30_000);
    // Byte-identical pads, equal to the XOR of both pools' bytes; the pools gave exactly the pad's size.
    const padA = readFileSync(padFilePath(alice.padsDir, ra.padId));
    const padB = readFileSync(padFilePath(bob.padsDir, rb.padId));
    expect(padA.equals(padB)).toBe(true);
    const a = new SeededSource('pool-a', 30_000).take(30_000).bytes;
    const b = new SeededSource('pool-b', 30_000).take(30_000).bytes;
    expect(padA.equals(Buffer.from(a.map((x, i) => x ^ (b[i] as number))))).toBe(true);
    expect(srcA.consumed).toBe(30_000);
    expect(srcB.consumed).toBe(30_000);
    // The same v2 layout in both ledgers (default typical length 160: floor(15000 / 192) = 78 key slots a side),
    // each cursor at its own end of its stream area.
    const layout = { split: 15_000, keySlotsA: 78, keySlotsB: 78, wireVersion: 2, sendIndex: 0 };
    const rowA = alice.ledger.pads()[0]!;
    expect(rowA).toMatchObject({ side: 'A', ...layout, cursor: 78 * 32, state: 'active', insecure: true });
    expect(bob.ledger.pads()[0]).toMatchObject({ side: 'B', ...layout, cursor: 30_000 - 78 * 32 });

    // The real engine on both pads: a message each way.
    alice.ledger.close();
    bob.ledger.close();
    const open = (dir: string, name: string) =>
      DeviceEngine.open({
        config: parseConfig({ dataDir: dir, device: { name, simulated: true } }),
        confirmer: new ScriptedConfirmer(),
      });
    const ea = open(alice.dir, 'alice');
    const eb = open(bob.dir, 'bob');
    try {
      const m1 = await ea.package('bob', new TextEncoder().encode('paired!'));
      expect(new TextDecoder().decode((await eb.unpackage(m1.package)).plaintext!)).toBe('paired!');
      const m2 = await eb.package('alice', new TextEncoder().encode('indeed'));
      expect(new TextDecoder().decode((await ea.unpackage(m2.package)).plaintext!)).toBe('indeed');
    } finally {
      ea.close();
      eb.close();
      alice = makeSide(tmp.root, 'alice');
      bob = makeSide(tmp.root, 'bob');
    }
  });

  it.each([
    ['initiator denies', 'denied', 'approved', 'DENIED', 'PAIRING_PEER_DENIED'],
    ['responder denies', 'approved', 'denied', 'PAIRING_PEER_DENIED', 'DENIED'],
    ['initiator never decides', 'never', 'approved', 'PAIRING_TIMEOUT', 'PAIRING_PEER_DENIED'],
  ] as const)('%s: no pad on either device, no file left', async (_name, ansA, ansB, codeA, codeB) => {
    const [s1, s2] = await socketPair();
    const srcA = new SeededSource('a', 20_000);
    const srcB = new SeededSource('b', 20_000);
    const [ra, rb] = await Promise.all([
      settle(runPairing(depsFor(alice, 'initiator', 'alice', s1, srcA, new ScriptedApprover(ansA)))),
      settle(runPairing(depsFor(bob, 'responder', 'bob', s2, srcB, new ScriptedApprover(ansB)))),
    ]);
    expect(ra).toEqual({ code: codeA });
    expect(rb).toEqual({ code: codeB });
    for (const s of [alice, bob]) {
      expect(s.ledger.pads()).toEqual([]);
      expect(padFiles(s)).toEqual([]);
    }
    // The pool bytes drawn stay consumed: a later pairing draws fresh ones.
    expect(srcA.consumed).toBe(20_000);
  });

  it('stopped (SIGTERM, Cancel) while its user compares fingerprints: CANCELLED, the peer told no, nothing kept', async () => {
    const [s1, s2] = await socketPair();
    const ac = new AbortController();
    const stopWhenAsked = {
      approvePairing: (_req: unknown, signal: AbortSignal) =>
        new Promise<'timeout'>((resolve) => {
          signal.addEventListener('abort', () => resolve('timeout'), { once: true });
          ac.abort();
        }),
    };
    const [ra, rb] = await Promise.all([
      settle(
        runPairing(
          depsFor(alice, 'initiator', 'alice', s1, new SeededSource('a', 20_000), stopWhenAsked, { signal: ac.signal }),
        ),
      ),
      settle(
        runPairing(depsFor(bob, 'responder', 'bob', s2, new SeededSource('b', 20_000), new ScriptedApprover('never'))),
      ),
    ]);
    expect(ra).toEqual({ code: 'CANCELLED' });
    // Its answer goes out as a no: the peer's own question ends there.
    expect(rb).toEqual({ code: 'PAIRING_PEER_DENIED' });
    for (const s of [alice, bob]) {
      expect(s.ledger.pads()).toEqual([]);
      expect(padFiles(s)).toEqual([]);
    }
  });

  it('cable pulled mid-transfer: both abort with PAIRING_PEER_LOST and keep nothing', async () => {
    const [s1, s2] = await socketPair();
    let chunks = 0;
    const [ra, rb] = await Promise.all([
      settle(
        runPairing(
          depsFor(alice, 'initiator', 'alice', s1, new SeededSource('a', 100_000), new ScriptedApprover(), {
            onProgress: () => {
              if (++chunks === 3) s1.destroy();
            },
          }),
        ),
      ),
      settle(runPairing(depsFor(bob, 'responder', 'bob', s2, new SeededSource('b', 100_000), new ScriptedApprover()))),
    ]);
    expect([ra, rb]).toEqual([{ code: 'PAIRING_PEER_LOST' }, { code: 'PAIRING_PEER_LOST' }]);
    for (const s of [alice, bob]) {
      expect(s.ledger.pads()).toEqual([]);
      expect(padFiles(s)).toEqual([]);
    }
  });

  it('a peer that reveals bytes other than it committed to is caught: COMMITMENT_MISMATCH', async () => {
    const [s1, s2] = await socketPair();
    const honest = settle(
      runPairing(depsFor(alice, 'initiator', 'alice', s1, new SeededSource('a', 20_000), new ScriptedApprover())),
    );
    // A cheating responder, speaking the wire protocol by hand.
    const cheat = new FrameConnection(s2, 1 << 20);
    await cheat.send(
      jsonFrame(FRAME.HELLO, {
        v: 2,
        name: 'mallory',
        role: 'responder',
        available: 20_000,
        max: 1e9,
        insecure: false,
      }),
    );
    await cheat.expect(FRAME.HELLO, 2000);
    const proposal = parseJson(await cheat.expect(FRAME.PROPOSE, 2000));
    await cheat.send(jsonFrame(FRAME.ACCEPT, {}));
    const padId = Buffer.from(proposal.padId as string, 'hex');
    const committed = new Uint8Array(4096).fill(1);
    const revealed = new Uint8Array(4096).fill(2);
    const idx = new Uint8Array(4);
    await cheat.send(encodeFrame(FRAME.COMMIT, new Uint8Array([...idx, ...commitment(padId, 0, 'B', committed)])));
    await cheat.expect(FRAME.COMMIT, 2000);
    await cheat.send(encodeFrame(FRAME.REVEAL, new Uint8Array([...idx, ...revealed])));
    expect(await honest).toEqual({ code: 'COMMITMENT_MISMATCH' });
    expect(alice.ledger.pads()).toEqual([]);
    expect(padFiles(alice)).toEqual([]);
    cheat.close();
  });

  it('equal contributions (equal seeds on both devices) make no pad: PAIRING_PAD_DEGENERATE, nothing kept', async () => {
    const [s1, s2] = await socketPair();
    const [ra, rb] = await Promise.all([
      settle(
        runPairing(depsFor(alice, 'initiator', 'alice', s1, new SeededSource('same', 100_000), new ScriptedApprover())),
      ),
      settle(
        runPairing(depsFor(bob, 'responder', 'bob', s2, new SeededSource('same', 100_000), new ScriptedApprover())),
      ),
    ]);
    // Each side finds it on its own; the slower one may hear the other's abort first.
    expect([ra, rb]).toContainEqual({ code: 'PAIRING_PAD_DEGENERATE' });
    for (const r of [ra, rb]) {
      expect(['PAIRING_PAD_DEGENERATE', 'PAIRING_PEER_ABORTED', 'PAIRING_PEER_LOST']).toContain(
        (r as { code: string }).code,
      );
    }
    for (const s of [alice, bob]) {
      expect(s.ledger.pads()).toEqual([]);
      expect(padFiles(s)).toEqual([]);
    }
  });

  it('one 16-byte block that cancels out, deep in a later chunk, is caught too; a 15-byte one is not a false alarm', async () => {
    // Both sources put the same 16 bytes at the same place of their stream: chunk 3 (4096-byte chunks), 48 bytes in.
    const planted = (seed: string, length: number): PadSource => {
      const inner = new SeededSource(seed, 100_000);
      return {
        available: () => inner.available(),
        take(n) {
          const at = inner.consumed;
          const got = inner.take(n);
          for (let i = 0; i < length; i++) {
            const pos = 3 * 4096 + 48 + i - at;
            if (pos >= 0 && pos < n) got.bytes[pos] = 0xa5;
          }
          return got;
        },
      };
    };
    const run = async (length: number) => {
      const [s1, s2] = await socketPair();
      return Promise.all([
        settle(runPairing(depsFor(alice, 'initiator', 'alice', s1, planted('a', length), new ScriptedApprover()))),
        settle(runPairing(depsFor(bob, 'responder', 'bob', s2, planted('b', length), new ScriptedApprover()))),
      ]);
    };
    const caught = await run(16);
    expect(caught).toContainEqual({ code: 'PAIRING_PAD_DEGENERATE' });
    expect(alice.ledger.pads()).toEqual([]);
    expect(padFiles(alice)).toEqual([]);
    const [a, b] = await run(15);
    expect((a as PairingResult).padId).toBeDefined();
    expect((b as PairingResult).padId).toBe((a as PairingResult).padId);
  });

  it('different fingerprints abort: FINGERPRINT_MISMATCH', async () => {
    const [s1, s2] = await socketPair();
    const honest = settle(
      runPairing(
        depsFor(alice, 'initiator', 'alice', s1, new SeededSource('a', 200), new ScriptedApprover(), {
          requestedSize: 100,
        }),
      ),
    );
    const peer = new FrameConnection(s2, 1 << 20);
    await peer.send(
      jsonFrame(FRAME.HELLO, { v: 2, name: 'mallory', role: 'responder', available: 200, max: 1e9, insecure: false }),
    );
    await peer.expect(FRAME.HELLO, 2000);
    const proposal = parseJson(await peer.expect(FRAME.PROPOSE, 2000));
    await peer.send(jsonFrame(FRAME.ACCEPT, {}));
    const padId = Buffer.from(proposal.padId as string, 'hex');
    const mine = new Uint8Array(100).fill(7);
    const idx = new Uint8Array(4);
    await peer.send(encodeFrame(FRAME.COMMIT, new Uint8Array([...idx, ...commitment(padId, 0, 'B', mine)])));
    await peer.expect(FRAME.COMMIT, 2000);
    await peer.send(encodeFrame(FRAME.REVEAL, new Uint8Array([...idx, ...mine])));
    await peer.expect(FRAME.REVEAL, 2000);
    await peer.send(jsonFrame(FRAME.FINGERPRINT, { fingerprint: '0000 0000 0000 0000 0000', insecure: false }));
    expect(await honest).toEqual({ code: 'FINGERPRINT_MISMATCH' });
    expect(alice.ledger.pads()).toEqual([]);
    expect(padFiles(alice)).toEqual([]);
    peer.close();
  });

  it('refuses two initiators, an existing contact, and a pool too small, before drawing any byte', async () => {
    let [s1, s2] = await socketPair();
    const srcA = new SeededSource('a', 1000);
    let r = await Promise.all([
      settle(runPairing(depsFor(alice, 'initiator', 'alice', s1, srcA, new ScriptedApprover()))),
      settle(runPairing(depsFor(bob, 'initiator', 'bob', s2, new SeededSource('b', 1000), new ScriptedApprover()))),
    ]);
    expect(r[0]).toEqual({ code: 'PAIRING_PROTOCOL' });
    expect(srcA.consumed).toBe(0);

    [s1, s2] = await socketPair();
    r = await Promise.all([
      settle(runPairing(depsFor(alice, 'initiator', 'alice', s1, srcA, new ScriptedApprover()))),
      settle(runPairing(depsFor(bob, 'responder', 'bob', s2, new SeededSource('b', 10), new ScriptedApprover()))),
    ]);
    expect(r[0]).toEqual({ code: 'POOL_INSUFFICIENT' });
    expect(r[1]).toEqual({ code: 'PAIRING_PEER_ABORTED' });
    expect(srcA.consumed).toBe(0);
  });
});
