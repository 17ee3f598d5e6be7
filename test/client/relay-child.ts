/**
 * A relay child for the crash test: runs a relay on the given database (loopback, any port), then sends to it
 * over HTTP in a loop, printing `sent REF` for every send the relay answered. The parent SIGKILLs it.
 * Usage: node --import tsx test/client/relay-child.ts DB
 */
import { newRelayToken, RelayClient } from '../../client/relay-client.js';
import { parseRelayConfig } from '../../client/relay-config.js';
import { buildRelay, listenRelay } from '../../client/relay-server.js';
import { RelayStore } from '../../client/relay-store.js';

const db = process.argv[2] as string;
const config = parseRelayConfig({
  dbPath: db,
  address: '127.0.0.1',
  port: 0,
  rate: { burst: 100000, perMinute: 1000000 },
  // One process sends everything from one address: its per-source share must not stop the stream.
  perSource: {
    sends: { burst: 100000, perMinute: 1000000 },
    bytes: { burst: 1073741824, perMinute: 1073741824 },
    maxWaiting: 1000000,
    maxWaitingPerRecipient: 1000000,
  },
  maxWaitingPerRecipient: 1000000,
});
const store = RelayStore.open(db, config);
const app = buildRelay({ config, store });
const { port } = await listenRelay(app, config);
const client = new RelayClient({ url: `http://127.0.0.1:${port}`, name: 'alice', token: newRelayToken() });
process.stdout.write('ready\n');
for (let i = 0; i < 100000; i++) {
  const pkg = Buffer.alloc(64 + (i % 64), i % 251).toString('base64');
  const r = await client.send('bob', pkg);
  process.stdout.write(`sent ${r.ref} ${i}\n`);
}
