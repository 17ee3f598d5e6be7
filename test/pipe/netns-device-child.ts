/**
 * A simulated device in its own namespace: `node --import tsx test/pipe/netns-device-child.ts <A|B> <dataDir>
 * <linkAddress> <peerAddress> <port>`. Its confirmer auto-approves sessions (a simulated, insecure device).
 * Prints `ready` once listening; runs until killed.
 */
import { writeSync } from 'node:fs';
import { parseConfig } from '../../device/config/config.js';
import { autoApprove } from '../../device/confirm.js';
import { DeviceEngine } from '../../device/engine.js';
import { build, listen } from '../../rpc/server.js';

const [side, dataDir, address, peer, port] = process.argv.slice(2);
const config = parseConfig({
  dataDir,
  device: { name: side === 'A' ? 'alice' : 'bob', simulated: true },
  link: { address, peer, port: Number(port) },
});
const engine = DeviceEngine.open({ config, confirmer: autoApprove });
const server = build({ engine, config });
await listen(server, config.link, { simulated: true });
writeSync(1, 'ready\n');
process.on('SIGTERM', () => {
  void server.close().then(() => {
    engine.close();
    process.exit(0);
  });
});
