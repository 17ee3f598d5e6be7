/**
 * Chat benchmark: the relay's send and fetch+ack rates over loopback HTTP (every send fsynced), and the
 * latency of one chat message end to end (alice's device packages, the relay stores, bob's chat fetches, bob's
 * device unpackages, the relay deletes) next to the two device calls alone.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChatClient } from '../client/chat.js';
import { newRelayToken, RelayClient } from '../client/relay-client.js';
import { parseRelayConfig } from '../client/relay-config.js';
import { buildRelay, listenRelay } from '../client/relay-server.js';
import { RelayStore } from '../client/relay-store.js';
import { parseConfig } from '../device/config/config.js';
import { autoApprove } from '../device/confirm.js';
import { createPadPair } from '../device/pad-pair.js';
import { LinkClient } from '../rpc/client.js';
import { startDeviceService } from '../rpc/service.js';
import type { Reporter } from './report.js';

const RELAY_SENDS = 300;
const MESSAGES = 100;
const TEXT = 'x'.repeat(100);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

/** Run the chat benchmark and report its figures. */
export async function run(report: Reporter): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'onepad-bench-chat-'));
  const relayConfig = parseRelayConfig({
    dbPath: join(root, 'relay.db'),
    logLevel: 'silent',
    rate: { burst: 100000, perMinute: 1000000 },
    // Every sender of this benchmark is on 127.0.0.1: per-source shares must not throttle the measurement.
    perSource: { sends: { burst: 100000, perMinute: 1000000 }, maxWaiting: 1000000, maxWaitingPerRecipient: 1000000 },
  });
  const store = RelayStore.open(relayConfig.dbPath, relayConfig);
  const relay = buildRelay({ config: relayConfig, store });
  const { port } = await listenRelay(relay, relayConfig, 0);
  const relayUrl = `http://127.0.0.1:${port}`;
  const services: { stop(): Promise<void> }[] = [];
  try {
    // Relay alone.
    const sender = new RelayClient({ url: relayUrl, name: 'sender', token: newRelayToken() });
    const sink = new RelayClient({ url: relayUrl, name: 'sink', token: newRelayToken() });
    const pkg = Buffer.alloc(TEXT.length + 32 + 14, 1).toString('base64');
    let t0 = performance.now();
    for (let i = 0; i < RELAY_SENDS; i++) await sender.send('sink', pkg);
    const sendSecs = (performance.now() - t0) / 1000;
    report.figure({
      bench: 'chat',
      name: 'relay sends/s (loopback HTTP, each fsynced, sequential)',
      value: RELAY_SENDS / sendSecs,
      unit: 'sends/s',
    });
    t0 = performance.now();
    let fetched = 0;
    for (;;) {
      const b = await sink.fetch(0);
      if (b.messages.length === 0) break;
      fetched += b.messages.length;
      await sink.ack(b.messages.map((m) => m.ref));
    }
    report.figure({
      bench: 'chat',
      name: `relay fetch+ack, batches of ${relayConfig.maxFetch}`,
      value: fetched / ((performance.now() - t0) / 1000),
      unit: 'messages/s',
    });

    // End to end, with two devices on loopback (always approve).
    const dirA = join(root, 'alice');
    const dirB = join(root, 'bob');
    const size = 2 * (2 * MESSAGES + 10) * (TEXT.length + 32) + 4096;
    createPadPair({
      dirA,
      dirB,
      nameA: 'alice',
      nameB: 'bob',
      size,
      source: { kind: 'seeded', seed: 'bench' },
      typicalLength: TEXT.length,
    });
    const start = async (dataDir: string, name: string) => {
      const config = parseConfig({
        dataDir,
        device: { name, simulated: true },
        link: { address: '127.0.0.1', peer: '127.0.0.1', logLevel: 'silent' },
      });
      const s = await startDeviceService({ config, confirmer: autoApprove, simulated: true, port: 0 });
      services.push(s);
      return new LinkClient({ url: `http://127.0.0.1:${s.port}` });
    };
    const aliceDevice = await start(dirA, 'alice');
    const bobDevice = await start(dirB, 'bob');
    const alice = new ChatClient({
      name: 'alice',
      device: aliceDevice,
      relayUrl,
      statePath: join(root, 'alice.json'),
      lowPadBytes: 0,
    });
    const bob = new ChatClient({
      name: 'bob',
      device: bobDevice,
      relayUrl,
      statePath: join(root, 'bob.json'),
      lowPadBytes: 0,
    });
    const chat: number[] = [];
    for (let i = 0; i < MESSAGES; i++) {
      const t = performance.now();
      await alice.send('bob', TEXT);
      const got = await bob.receive();
      if (!got.some((e) => e.type === 'message')) throw new Error('message lost in the benchmark');
      chat.push(performance.now() - t);
    }
    const direct: number[] = [];
    for (let i = 0; i < MESSAGES; i++) {
      const t = performance.now();
      const p = await aliceDevice.package('bob', { text: TEXT });
      await bobDevice.unpackage(p.package);
      direct.push(performance.now() - t);
    }
    chat.sort((a, b) => a - b);
    direct.sort((a, b) => a - b);
    for (const p of [50, 99]) {
      const c = percentile(chat, p);
      const d = percentile(direct, p);
      report.figure({
        bench: 'chat',
        name: `message end to end p${p} (send, relay, receive, ack)`,
        value: c,
        unit: 'ms',
        baseline: { name: `package+unpackage only p${p}`, value: d, unit: 'ms' },
        ratio: c / d,
        note: `${MESSAGES} messages of ${TEXT.length} bytes, devices burn each segment`,
      });
    }
  } finally {
    for (const s of services) await s.stop();
    await relay.close();
    store.close();
    rmSync(root, { recursive: true, force: true });
  }
}
