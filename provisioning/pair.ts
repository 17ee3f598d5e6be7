/**
 * Pair this device with the one on the cable: find it (discovery.ts), run the protocol (protocol.ts) drawing this
 * device's contribution from its entropy pool, and leave with the same pad on both or none.
 */
import type { Config } from '../device/config/config.js';
import { prepareDataDir } from '../device/data-dir.js';
import { EventLog } from '../device/events.js';
import { Ledger } from '../device/ledger/ledger.js';
import { poolLimit } from '../device/storage.js';
import { EntropyPool } from '../hrng/pool.js';
import { FrameConnection } from './connection.js';
import { awaitResponder, findInitiator } from './discovery.js';
import { type PairApprover, type PairingProgress, type PairingResult, runPairing } from './protocol.js';

export interface PairOptions {
  readonly config: Config;
  readonly role: 'initiator' | 'responder';
  readonly approver: PairApprover;
  /** Initiator: the pad size wanted (default: as much as both pools hold, up to pairing.maxPadBytes). */
  readonly size?: number;
  readonly onProgress?: (p: PairingProgress) => void;
  /** Called once the peer is connected (for the screen: "transferring"). */
  readonly onConnected?: () => void;
  readonly signal?: AbortSignal;
  /**
   * The device's already open ledger, event log and pool (the device service shares them with its filler); when
   * absent they are opened here and closed after.
   */
  readonly open?: { readonly ledger: Ledger; readonly events: EventLog; readonly pool: EntropyPool };
}

/**
 * Discover the peer, pair, and close everything.
 * @throws OnepadError every code of {@link runPairing}, plus PAIRING_NO_LINK, POOL_FILE_INVALID, DATA_DIR_UNSAFE
 */
export async function pairOverLink(opts: PairOptions): Promise<PairingResult> {
  const { config } = opts;
  const layout = prepareDataDir(config.dataDir);
  const owned = !opts.open;
  const ledger = opts.open?.ledger ?? Ledger.open(layout.ledger);
  const events = opts.open?.events ?? new EventLog(layout.events, config.engine.eventLogMax);
  let pool: EntropyPool | null = opts.open?.pool ?? null;
  try {
    pool ??= EntropyPool.open({
      db: ledger.db,
      path: layout.pool,
      maxBytes: poolLimit(config.hrng.poolMaxBytes, layout.root, layout.pool),
      events,
    });
    const socket =
      opts.role === 'initiator'
        ? await awaitResponder(config.pairing, config.device.name, opts.signal)
        : await findInitiator(config.pairing, opts.signal);
    opts.onConnected?.();
    const conn = new FrameConnection(socket, config.pairing.chunkBytes + 64);
    return await runPairing({
      role: opts.role,
      name: config.device.name,
      conn,
      source: pool,
      ledger,
      events,
      padsDir: layout.pads,
      approver: opts.approver,
      config: config.pairing,
      requestedSize: opts.size,
      typicalLength: config.engine.typicalMessageLength,
      insecure: config.device.simulated,
      onProgress: opts.onProgress,
      signal: opts.signal,
    });
  } finally {
    if (owned) {
      pool?.close();
      ledger.close();
      events.close();
    }
  }
}
