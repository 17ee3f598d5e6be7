/**
 * Limits from the free space, on small real file systems: a tmpfs of a given size mounted in a temp dir (root,
 * as every test here). The pool ring and the largest pad come from statfs, not from fixed caps: a pool opened
 * with hrng.poolMaxBytes 0 fills to what fits beside a pad of its size, and that pad is then written whole; a
 * pairing asked for more than the smaller device can store is made at what it can; a proposal over a device's
 * room, and a create-pair whose two copies do not fit, are refused with STORAGE_FULL before a byte is written.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../device/config/config.js';
import { prepareDataDir } from '../../device/data-dir.js';
import { OnepadError } from '../../device/errors.js';
import { openLedgerDb } from '../../device/ledger/open.js';
import { PadFileWriter } from '../../device/pad-file.js';
import { createPadPair } from '../../device/pad-pair.js';
import { newPadId } from '../../device/pads.js';
import { padLimit, poolLimit, storagePlan, storageReserve } from '../../device/storage.js';
import { Filler } from '../../hrng/filler.js';
import { EntropyPool } from '../../hrng/pool.js';
import { SimSource } from '../../hrng/sim-source.js';
import { type PairingResult, runPairing } from '../../provisioning/protocol.js';
import {
  depsFor,
  makeSide,
  ScriptedApprover,
  SeededSource,
  socketPair,
  testPairingConfig,
} from '../provisioning/pairing-fixture.js';

const MIB = 1 << 20;
const base = mkdtempSync(join(tmpdir(), 'onepad-limits-'));
const mounts: string[] = [];

/** A fresh tmpfs of `mib` MiB at a new dir under the temp dir. */
function smallDisk(mib: number): string {
  const dir = join(base, `fs${mounts.length}`);
  mkdirSync(dir);
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${mib}m,mode=0700`, 'tmpfs', dir]);
  mounts.push(dir);
  return dir;
}

/** Take all but `leaveMib` MiB of the file system at `dir` with one allocated file. */
function fillDisk(dir: string, leaveMib: number): void {
  const st = statfsSync(dir);
  const take = st.bavail * st.bsize - leaveMib * MIB;
  const fd = openSync(join(dir, 'ballast'), 'w');
  closeSync(fd);
  execFileSync('fallocate', ['-l', String(take), join(dir, 'ballast')]);
}

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return e instanceof OnepadError ? e.code : String(e);
  }
  return 'none';
}

let canMount = true;
beforeAll(() => {
  try {
    smallDisk(1);
  } catch {
    canMount = false;
  }
});
afterAll(() => {
  for (const m of mounts.reverse()) execFileSync('umount', [m]);
  rmSync(base, { recursive: true, force: true });
});

describe('storage limits from statfs, on small real file systems', () => {
  it('poolMaxBytes 0 gives the largest ring that fits beside a pad of its size; filled, that pad is written whole', async () => {
    if (!canMount) return expect.fail('needs root to mount a tmpfs');
    const disk = smallDisk(64);
    const layout = prepareDataDir(join(disk, 'd'));
    const st = statfsSync(disk);
    const free = st.bavail * st.bsize;
    const limit = poolLimit(0, layout.root, layout.pool);
    // Half of what is free less two reserves (each a 20th of this small disk), to the byte.
    expect(limit).toBe(Math.floor((free - 2 * storageReserve(st.blocks * st.bsize)) / 2));
    expect(limit).toBeGreaterThan(25 * MIB);
    // A configured size below it is kept; above it (the old fixed caps) it is cut to what fits.
    expect(poolLimit(8 * MIB, layout.root, layout.pool)).toBe(8 * MIB);
    expect(poolLimit(2 ** 40, layout.root, layout.pool)).toBe(limit);

    const db = openLedgerDb(layout.ledger);
    const pool = EntropyPool.open({ db, path: layout.pool, maxBytes: limit });
    try {
      expect(pool.capacity).toBe(limit);
      const r = await new Filler({
        sources: [new SimSource({ seed: 'limits', chunk: 65_536 })],
        pool,
        chunkBytes: MIB,
      }).run({});
      expect(r.state).toBe('full');
      expect(pool.available()).toBe(limit);
      // The full pool's blocks count as room for it: the limit moves only by what the ledger grew meanwhile.
      expect(Math.abs(poolLimit(0, layout.root, layout.pool) - limit)).toBeLessThan(MIB);
      // A pad of the whole pool still fits: the pairing limit is at least the pool, and writing it succeeds.
      const room = padLimit(0, layout.root);
      expect(room).toBeGreaterThanOrEqual(limit);
      const padId = newPadId();
      const w = PadFileWriter.create(layout.pads, padId, limit);
      const chunk = new Uint8Array(MIB).fill(0x5a);
      for (let off = 0; off < limit; off += MIB) await w.writeAsync(chunk.subarray(0, Math.min(MIB, limit - off)), off);
      await w.finishAsync();
      expect(readdirSync(layout.pads)).toEqual([`${padId}.pad`]);
      // And a configured pairing cap is kept below the room, cut to it above.
      expect(padLimit(4096, layout.root)).toBe(4096);
      expect(padLimit(2 ** 40, layout.root)).toBe(padLimit(0, layout.root));
    } finally {
      pool.close();
      db.close();
    }
  }, 120_000);

  it('a disk with no room for the smallest pool: STORAGE_FULL, and the pad limit is 0', () => {
    if (!canMount) return expect.fail('needs root to mount a tmpfs');
    const disk = smallDisk(16);
    const layout = prepareDataDir(join(disk, 'd'));
    fillDisk(disk, 0);
    expect(codeOf(() => poolLimit(0, layout.root, layout.pool))).toBe('STORAGE_FULL');
    expect(codeOf(() => poolLimit(16 * MIB, layout.root, layout.pool))).toBe('STORAGE_FULL');
    expect(padLimit(0, layout.root)).toBe(0);
    expect(storagePlan(layout.root).largestPad).toBe(0);
  });

  it('a pairing asked for more than the smaller device can store is made at what that device can store', async () => {
    if (!canMount) return expect.fail('needs root to mount a tmpfs');
    const big = smallDisk(64);
    const small = smallDisk(64);
    fillDisk(small, 12); // bob: 12 MiB free, less a 20th of 64 MiB for the reserve
    const alice = makeSide(big, 'alice');
    const bob = makeSide(small, 'bob');
    try {
      const bobRoom = padLimit(0, bob.dir);
      expect(bobRoom).toBeLessThan(9 * MIB);
      expect(bobRoom).toBeGreaterThan(7 * MIB);
      const [s1, s2] = await socketPair();
      const config = testPairingConfig({ chunkBytes: 65_536 });
      const [ra, rb] = (await Promise.all([
        runPairing(
          depsFor(alice, 'initiator', 'alice', s1, new SeededSource('a', 32 * MIB), new ScriptedApprover(), {
            requestedSize: 30 * MIB,
            config,
          }),
        ),
        runPairing(
          depsFor(bob, 'responder', 'bob', s2, new SeededSource('b', 32 * MIB), new ScriptedApprover(), { config }),
        ),
      ])) as [PairingResult, PairingResult];
      // Bob's HELLO carried his room as his maximum: the pad is as large as bob can store, and whole on both.
      expect(ra.size).toBeLessThanOrEqual(bobRoom);
      expect(ra.size).toBeGreaterThan(bobRoom - 65_536);
      expect(rb.size).toBe(ra.size);
    } finally {
      for (const s of [alice, bob]) {
        s.ledger.close();
        s.events.close();
      }
    }
  }, 60_000);

  it("a proposal over the responder's room is refused with STORAGE_FULL before a byte is drawn or written", async () => {
    if (!canMount) return expect.fail('needs root to mount a tmpfs');
    const small = smallDisk(64);
    fillDisk(small, 12);
    const alice = makeSide(base, 'alice-p');
    const bob = makeSide(small, 'bob');
    try {
      const [s1, s2] = await socketPair();
      const srcB = new SeededSource('b', 32 * MIB);
      // Alice ignores bob's maximum (a stale or hostile initiator): her size is fixed by a config cap of her own
      // and a HELLO that lies about nothing but what bob can take is not needed; she simply proposes 20 MiB.
      const config = testPairingConfig({ chunkBytes: 65_536 });
      const liar = depsFor(alice, 'initiator', 'alice', s1, new SeededSource('a', 32 * MIB), new ScriptedApprover(), {
        requestedSize: 20 * MIB,
        config,
      });
      // Make alice's view of bob's HELLO say "no maximum": wrap her connection's receive of HELLO.
      const conn = liar.conn;
      const expectOrig = conn.expect.bind(conn);
      conn.expect = async (type, ms, signal) => {
        const payload = await expectOrig(type, ms, signal);
        if (type !== 1) return payload; // FRAME.HELLO
        const hello = JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>;
        hello.max = 1e12;
        return new TextEncoder().encode(JSON.stringify(hello));
      };
      const settle = async <T>(p: Promise<T>) => {
        try {
          return await p;
        } catch (e) {
          return { code: (e as { code: string }).code };
        }
      };
      const [, rb] = await Promise.all([
        settle(runPairing(liar)),
        settle(runPairing(depsFor(bob, 'responder', 'bob', s2, srcB, new ScriptedApprover(), { config }))),
      ]);
      expect(rb).toEqual({ code: 'STORAGE_FULL' });
      expect(srcB.consumed).toBe(0);
      expect(readdirSync(bob.padsDir)).toEqual([]);
      expect(bob.ledger.pads()).toEqual([]);
    } finally {
      for (const s of [alice, bob]) {
        s.ledger.close();
        s.events.close();
      }
    }
  }, 60_000);

  it('create-pair refuses two copies that do not fit the disk with STORAGE_FULL, writing nothing', () => {
    if (!canMount) return expect.fail('needs root to mount a tmpfs');
    const disk = smallDisk(64);
    const dirA = join(disk, 'alice');
    const dirB = join(disk, 'bob');
    const opts = { dirA, dirB, nameA: 'alice', nameB: 'bob', source: { kind: 'seeded' as const, seed: 'x' } };
    // Two copies of 40 MiB need 80 MiB: refused. Two of 20 MiB fit.
    expect(codeOf(() => createPadPair({ ...opts, size: 40 * MIB }))).toBe('STORAGE_FULL');
    expect(readdirSync(join(dirA, 'pads'))).toEqual([]);
    expect(readdirSync(join(dirB, 'pads'))).toEqual([]);
    createPadPair({ ...opts, size: 20 * MIB });
    expect(readdirSync(join(dirA, 'pads'))).toHaveLength(1);
    expect(parseConfig({ dataDir: dirA }).pairing.maxPadBytes).toBe(0);
  });
});
