/**
 * How big a pool and a pad this device's storage can hold, from the file system's free space (statfs), and how
 * long the pool takes to fill at a given source rate. A pad needs its pool bytes first (the pool is drawn as the
 * pad is written, so at the end of a pairing both the pool's drawn bytes and the pad take room until the pool's
 * burn catches up): the largest pad is what fits twice, less two reserves (see storagePlan).
 */
import { statfsSync, statSync } from 'node:fs';
import { OnepadError } from './errors.js';

/** Room kept free for the ledger, the event log, and the file system itself (a 20th of a smaller one). */
export const STORAGE_RESERVE_BYTES = 1 << 30;

/** The smallest pool ring (hrng.poolMaxBytes' minimum). */
export const MIN_POOL_BYTES = 4096;

/** The reserve on a file system of `size` bytes: {@link STORAGE_RESERVE_BYTES}, or a 20th of a smaller one. */
export function storageReserve(size: number): number {
  return Math.min(STORAGE_RESERVE_BYTES, Math.floor(size / 20));
}

/** Bytes a file takes on its disk (its allocated blocks: the pool ring is sparse until filled), 0 when absent. */
export function allocatedBytes(path: string): number {
  const st = statSync(path, { throwIfNoEntry: false });
  return st ? st.blocks * 512 : 0;
}

export interface StoragePlan {
  /** Bytes free on the data dir's file system, for this user. */
  readonly free: number;
  /** Size of that file system. */
  readonly size: number;
  /** The largest pool that fits now, next to what is already there (`poolNow`), less the reserve. */
  readonly largestPool: number;
  /** The largest pad pairing can make from a full pool of that size (pool and pad on one disk). */
  readonly largestPad: number;
  /** Seconds to fill `largestPool` at `bytesPerSecond`, or null without a rate. */
  readonly fillSeconds: number | null;
}

/**
 * Plan the storage of the data dir at `dataDir`.
 *
 * @param poolNow - bytes the pool file already takes (they count as room for the pool)
 * @param bytesPerSecond - the source's measured rate (`onepad hrng fill` prints it), if known
 * @throws Error from statfs when the path does not exist
 */
export function storagePlan(dataDir: string, poolNow = 0, bytesPerSecond?: number): StoragePlan {
  const st = statfsSync(dataDir);
  const free = st.bavail * st.bsize;
  const size = st.blocks * st.bsize;
  // Two reserves: one kept free for good, one for what the ledger, the event log and the status file grow by
  // while the pool fills, so a pad of the full pool's size still fits with the first one kept (padLimit).
  const room = Math.max(0, free + poolNow - 2 * storageReserve(size));
  // A pad of n bytes needs n pool bytes and n pad bytes at once: half the room each.
  const largestPad = Math.floor(room / 2);
  const largestPool = largestPad;
  return {
    free,
    size,
    largestPool,
    largestPad,
    fillSeconds: bytesPerSecond && bytesPerSecond > 0 ? largestPool / bytesPerSecond : null,
  };
}

/**
 * The pool ring size to open with: `configured` (hrng.poolMaxBytes; 0 = as large as the storage holds), never more
 * than {@link storagePlan}'s largest pool, so the ring and a pad of its size fit the disk side by side. The pool
 * adopts a new size only while empty (hrng/pool.ts), so a full disk never shrinks a pool that holds bytes.
 *
 * @param poolPath - the pool file (its allocated blocks count as room for the pool)
 * @throws OnepadError STORAGE_FULL when not even the smallest pool (4096 bytes) fits
 */
export function poolLimit(configured: number, dataDir: string, poolPath: string): number {
  const plan = storagePlan(dataDir, allocatedBytes(poolPath));
  const limit = configured === 0 ? plan.largestPool : Math.min(configured, plan.largestPool);
  if (limit < MIN_POOL_BYTES) {
    throw new OnepadError(
      'STORAGE_FULL',
      { needed: MIN_POOL_BYTES, free: plan.free },
      'the data dir has no room for an entropy pool',
    );
  }
  return limit;
}

/**
 * The largest pad this device may make now: `configured` (pairing.maxPadBytes; 0 = as large as the storage
 * holds), never more than the free space less the reserve (the pool's bytes are already on the disk; the pad
 * file needs room of its own).
 */
export function padLimit(configured: number, dataDir: string): number {
  const st = statfsSync(dataDir);
  const room = Math.max(0, st.bavail * st.bsize - storageReserve(st.blocks * st.bsize));
  return configured === 0 ? room : Math.min(configured, room);
}

/**
 * Check that `bytes` more fit in the data dir's file system, with the reserve kept.
 * @throws OnepadError STORAGE_FULL when they do not
 */
export function assertRoomFor(dataDir: string, bytes: number): void {
  const st = statfsSync(dataDir);
  const free = st.bavail * st.bsize;
  if (bytes > Math.max(0, free - storageReserve(st.blocks * st.bsize))) {
    throw new OnepadError('STORAGE_FULL', { needed: bytes, free }, 'the data dir has too little free space');
  }
}
