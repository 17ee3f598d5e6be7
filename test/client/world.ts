/**
 * A small world for chat tests: real device services (alice, bob, carol) on loopback with seeded pads
 * (alice-bob, alice-carol), a real relay on loopback with an injected clock, and chat clients.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChatClient, type ChatClientOptions, type ChatDevice } from '../../client/chat.js';
import { parseRelayConfig } from '../../client/relay-config.js';
import { buildRelay, listenRelay, type RelayServer } from '../../client/relay-server.js';
import { RelayStore } from '../../client/relay-store.js';
import { type Config, parseConfig } from '../../device/config/config.js';
import { createPadPair } from '../../device/pad-pair.js';
import { LinkClient } from '../../rpc/client.js';
import { type DeviceService, startDeviceService } from '../../rpc/service.js';
import { ScriptedConfirmer } from '../helpers/engine-fixture.js';

const LINK = { address: '127.0.0.1', peer: '127.0.0.1', logLevel: 'silent' };

/** A device that can be stopped and started again on the same data dir. */
export interface WorldDevice {
  readonly name: string;
  readonly dir: string;
  readonly confirmer: ScriptedConfirmer;
  /** The client a chat uses: always points at the running service. */
  readonly link: ChatDevice;
  service: DeviceService | null;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface World {
  readonly root: string;
  readonly devices: Record<'alice' | 'bob' | 'carol', WorldDevice>;
  readonly store: RelayStore;
  readonly relay: RelayServer;
  readonly relayUrl: string;
  readonly clock: { now: number };
  /** A chat client for `name` on its own device (state in the world's root). */
  chat(name: 'alice' | 'bob' | 'carol', opts?: Partial<ChatClientOptions>): ChatClient;
  close(): Promise<void>;
}

export async function makeWorld(
  opts: {
    padSize?: number;
    relay?: Record<string, unknown>;
    config?: Partial<Record<'alice' | 'bob' | 'carol', Record<string, unknown>>>;
  } = {},
): Promise<World> {
  const root = mkdtempSync(join(tmpdir(), 'onepad-chat-'));
  const dir = (n: string) => join(root, n);
  const size = opts.padSize ?? 4096;
  createPadPair({
    dirA: dir('alice'),
    dirB: dir('bob'),
    nameA: 'alice',
    nameB: 'bob',
    size,
    source: { kind: 'seeded', seed: 'ab' },
  });
  createPadPair({
    dirA: dir('alice'),
    dirB: dir('carol'),
    nameA: 'alice',
    nameB: 'carol',
    size,
    source: { kind: 'seeded', seed: 'ac' },
  });

  const device = (name: 'alice' | 'bob' | 'carol'): WorldDevice => {
    const config: Config = parseConfig({
      dataDir: dir(name),
      device: { name, simulated: true },
      link: LINK,
      engine: { lowPadWarningBytes: 0 },
      ...(opts.config?.[name] ?? {}),
    });
    const confirmer = new ScriptedConfirmer();
    let client: LinkClient | null = null;
    const d: WorldDevice = {
      name,
      dir: dir(name),
      confirmer,
      service: null,
      link: {
        package: (c, content) => (client ?? new LinkClient({ url: 'http://127.0.0.1:1' })).package(c, content),
        unpackage: (p) => (client ?? new LinkClient({ url: 'http://127.0.0.1:1' })).unpackage(p),
      },
      async start() {
        d.service = await startDeviceService({ config, confirmer, simulated: true, port: 0 });
        client = new LinkClient({ url: `http://127.0.0.1:${d.service.port}`, timeoutMs: 10_000 });
      },
      async stop() {
        await d.service?.stop();
        d.service = null;
        client = null;
      },
    };
    return d;
  };
  const devices = { alice: device('alice'), bob: device('bob'), carol: device('carol') };
  for (const d of Object.values(devices)) await d.start();

  const clock = { now: Date.now() };
  const relayConfig = parseRelayConfig({
    dbPath: join(root, 'relay.db'),
    address: '127.0.0.1',
    logLevel: 'silent',
    ...(opts.relay ?? {}),
  });
  const store = RelayStore.open(relayConfig.dbPath, relayConfig);
  const relay = buildRelay({ config: relayConfig, store, now: () => clock.now });
  const { port } = await listenRelay(relay, relayConfig, 0);
  const relayUrl = `http://127.0.0.1:${port}`;

  return {
    root,
    devices,
    store,
    relay,
    relayUrl,
    clock,
    chat(name, o = {}) {
      return new ChatClient({
        name,
        device: devices[name].link,
        relayUrl,
        statePath: join(root, `${name}.chat.json`),
        lowPadBytes: 0,
        ...o,
      });
    },
    async close() {
      await relay.close();
      store.close();
      for (const d of Object.values(devices)) await d.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
