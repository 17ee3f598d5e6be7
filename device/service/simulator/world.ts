/**
 * The simulated world `npm start` runs: two devices (alice and bob), each with its own data dir, simulated HRNG
 * filling a real entropy pool through the real health-tested filler, a simulated screen and touch, and a real
 * device service on loopback; paired through the real pairing protocol over a loopback connection. Everything in
 * it is INSECURE (seeded entropy) and every screen says so.
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { join, resolve } from 'node:path';
import { parseRelayConfig } from '../../../client/relay-config.js';
import { type RelayService, startRelay } from '../../../client/relay-service.js';
import { type DeviceScreen, openDeviceScreen } from '../../../display/device-screen.js';
import { Filler } from '../../../hrng/filler.js';
import { EntropyPool } from '../../../hrng/pool.js';
import { SimSource } from '../../../hrng/sim-source.js';
import { FrameConnection } from '../../../provisioning/connection.js';
import { type PairApprover, type PairingResult, runPairing } from '../../../provisioning/protocol.js';
import { type DeviceService, startDeviceService } from '../../../rpc/service.js';
import { type Config, parseConfig } from '../../config/config.js';
import { prepareDataDir } from '../../data-dir.js';
import { EventLog } from '../../events.js';
import { Ledger } from '../../ledger/ledger.js';
import { type Hosted, startHosted } from '../hosted.js';

export const DEVICE_NAMES = ['alice', 'bob'] as const;
export type DeviceName = (typeof DEVICE_NAMES)[number];

/** One simulated device. */
export interface SimDevice {
  readonly name: DeviceName;
  readonly config: Config;
  readonly screen: DeviceScreen;
  readonly service: DeviceService;
  /** The device's link URL (loopback). */
  readonly url: string;
}

export interface WorldOptions {
  /** Where the two data dirs live (default .onepad-sim in the current directory). */
  readonly dir?: string;
  /** Start from nothing: remove earlier data dirs first. */
  readonly fresh?: boolean;
  /** Pad size for the pairing (default 1 MiB). */
  readonly padBytes?: number;
  /** Ask on both screens to compare fingerprints (default: approve automatically, after showing progress). */
  readonly pairByHand?: boolean;
  /** Seconds a confirmation waits for the visitor (default 60). */
  readonly confirmTimeoutMs?: number;
  /** Hold time of the approve gesture (default 1200 ms). */
  readonly holdMs?: number;
  readonly log?: (line: string) => void;
  /**
   * Called with both screens as soon as they are open, before the pools fill and the devices pair: the page
   * must be up by then, since pairing by hand waits for Match and the names typed on it.
   */
  readonly onScreens?: (screens: Readonly<Record<DeviceName, DeviceScreen>>) => Promise<void> | void;
  /** Aborting stops filling and pairing (SIGTERM, Ctrl-C): the start then fails and leaves nothing running. */
  readonly signal?: AbortSignal;
}

export interface World {
  readonly devices: Readonly<Record<DeviceName, SimDevice>>;
  /** The relay between the two laptops (loopback). */
  readonly relay: RelayService;
  readonly dir: string;
  /** The pairing result, when this start paired the devices (null when they were paired before). */
  readonly paired: PairingResult | null;
  stop(): Promise<void>;
}

function deviceConfig(dir: string, name: DeviceName, o: WorldOptions): Config {
  return parseConfig({
    dataDir: join(dir, name),
    device: { name, ownerWord: `sim-${name}`, simulated: true },
    link: { address: '127.0.0.1', peer: '127.0.0.1', logLevel: 'warn' },
    // About the pace of a USB HRNG, so the pool bar visibly fills (pairing at start fills unthrottled).
    hrng: {
      sources: [{ kind: 'simulated', seed: `onepad-sim-${name}`, bytesPerSecond: 65536 }],
      poolMaxBytes: 8 * 1048576,
    },
    display: { sink: 'sim', input: 'sim', holdMs: o.holdMs ?? 1200 },
    confirm: { timeoutMs: o.confirmTimeoutMs ?? 60_000 },
    pairing: { chunkBytes: 262_144, ioTimeoutMs: 10_000, approvalTimeoutMs: 300_000 },
  });
}

function loopbackPair(): Promise<[Socket, Socket]> {
  return new Promise((resolvePair, reject) => {
    const server = createServer((inbound) => {
      server.close();
      resolvePair([outbound, inbound]);
    });
    let outbound: Socket;
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      outbound = connect((server.address() as { port: number }).port, '127.0.0.1');
    });
  });
}

/** Fill each pool to `bytes` from the simulated source, then pair the two devices through the real protocol. */
async function fillAndPair(
  configs: Record<DeviceName, Config>,
  screens: Record<DeviceName, DeviceScreen>,
  o: WorldOptions,
): Promise<PairingResult> {
  const padBytes = o.padBytes ?? 1048576;
  const open = DEVICE_NAMES.map((name) => {
    const layout = prepareDataDir(configs[name].dataDir);
    const ledger = Ledger.open(layout.ledger);
    const events = new EventLog(layout.events);
    const pool = EntropyPool.open({
      db: ledger.db,
      path: layout.pool,
      maxBytes: configs[name].hrng.poolMaxBytes,
      events,
    });
    return { name, layout, ledger, events, pool };
  });
  try {
    for (const d of open) {
      const need = padBytes - d.pool.available();
      if (need > 0) {
        o.log?.(`${d.name}: filling the pool from the simulated HRNG (${need} bytes)`);
        const filler = new Filler({
          sources: [new SimSource({ seed: `onepad-sim-${d.name}` })],
          pool: d.pool,
          events: d.events,
        });
        const r = await filler.run({ bytes: need, ...(o.signal ? { signal: o.signal } : {}) });
        o.signal?.throwIfAborted();
        if (r.state === 'failed') throw r.error;
      }
    }
    const [sa, sb] = await loopbackPair();
    // By hand: each owner compares on their screen, holds Match and names the other. Otherwise approved at once
    // and each contact named after the peer device.
    const approver = (name: DeviceName): PairApprover =>
      o.pairByHand ? screens[name].pairApprover : { approvePairing: async () => 'approved' };
    o.log?.('pairing alice (initiator, side A) with bob (responder, side B)');
    const [a, b] = DEVICE_NAMES.map((name, i) => {
      const d = open[i]!;
      return runPairing({
        role: name === 'alice' ? 'initiator' : 'responder',
        name,
        conn: new FrameConnection(name === 'alice' ? sa : sb, configs[name].pairing.chunkBytes + 64),
        source: d.pool,
        ledger: d.ledger,
        events: d.events,
        padsDir: d.layout.pads,
        approver: approver(name),
        config: configs[name].pairing,
        requestedSize: padBytes,
        insecure: true,
        onProgress: (p) => screens[name].showPairingProgress(p.peer, p),
        ...(o.signal ? { signal: o.signal } : {}),
      });
    });
    try {
      const [ra] = await Promise.all([a!, b!]);
      return ra;
    } finally {
      sa.destroy();
      sb.destroy();
      await Promise.allSettled([a!, b!]);
    }
  } finally {
    for (const d of open) {
      d.pool.close();
      d.ledger.close();
      d.events.close();
    }
  }
}

/** Whether the device has an active pad (with its peer, under whatever name its owner gave it). */
function alreadyPaired(config: Config): boolean {
  if (!existsSync(join(config.dataDir, 'ledger.db'))) return false;
  const ledger = Ledger.open(join(config.dataDir, 'ledger.db'));
  try {
    return ledger.pads().some((p) => p.state === 'active');
  } finally {
    ledger.close();
  }
}

/**
 * Start the simulated world.
 * @throws OnepadError from pairing, the pools or the device services
 */
export async function startWorld(o: WorldOptions = {}): Promise<World> {
  const dir = resolve(o.dir ?? '.onepad-sim');
  if (o.fresh) rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const configs = { alice: deviceConfig(dir, 'alice', o), bob: deviceConfig(dir, 'bob', o) };
  const screens = {} as Record<DeviceName, DeviceScreen>;
  const services: DeviceService[] = [];
  const hosted: Hosted[] = [];
  let relay: RelayService | undefined;
  try {
    for (const name of DEVICE_NAMES) screens[name] = await openDeviceScreen(configs[name], 'simulated');
    await o.onScreens?.(screens);
    const needPairing = !alreadyPaired(configs.alice) || !alreadyPaired(configs.bob);
    const paired = needPairing ? await fillAndPair(configs, screens, o) : null;
    const devices = {} as Record<DeviceName, SimDevice>;
    for (const name of DEVICE_NAMES) {
      const screen = screens[name];
      const service = await startDeviceService({
        config: configs[name],
        confirmer: screen.confirmer,
        privateDisplay: screen.privateDisplay,
        simulated: true,
        port: 0,
      });
      services.push(service);
      screen.attachEngine(service.engine);
      hosted.push(
        startHosted({ config: configs[name], engine: service.engine, screen, simulated: true, pairing: false }),
      );
      devices[name] = { name, config: configs[name], screen, service, url: `http://127.0.0.1:${service.port}` };
    }
    relay = await startRelay({
      config: parseRelayConfig({ address: '127.0.0.1', dbPath: join(dir, 'relay.db'), logLevel: 'warn' }),
      port: 0,
    });
    const theRelay = relay;
    return {
      devices,
      relay: theRelay,
      dir,
      paired,
      async stop() {
        await theRelay.stop();
        for (const h of hosted) await h.stop();
        for (const s of services) await s.stop();
        for (const name of DEVICE_NAMES) await screens[name].close();
      },
    };
  } catch (e) {
    await relay?.stop();
    for (const h of hosted) await h.stop();
    for (const s of services) await s.stop();
    for (const name of DEVICE_NAMES) await screens[name]?.close();
    throw e;
  }
}
