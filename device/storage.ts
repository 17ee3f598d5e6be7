/**
 * How big a pool and a pad this device's storage can hold, from the file system's free space (statfs), and how
 * long the pool takes to fill at a given source rate. A pad needs its pool bytes first (the pool is drawn as the
 * pad is written, so at the end of a pairing both the pool's drawn bytes and the pad take room until the pool's
 * burn catches up): the largest pad is what fits twice, less a reserve.
 */
import { statfsSync } from 'node:fs';

/** Room kept free for the ledger, the event log, and the file system itself. */
export const STORAGE_RESERVE_BYTES = 1 << 30;

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
  const room = Math.max(0, free + poolNow - STORAGE_RESERVE_BYTES);
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
