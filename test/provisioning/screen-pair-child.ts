/**
 * One device for the pairing-from-the-screen test: `screen-pair-child.ts <dataDir> <name> <iface> <start|join>
 * [modeRequest]` (modeRequest: the file to ask for pairing mode through, as on the image).
 * Runs the device screen, the engine and the hosted filler and pairing, then drives its own simulated screen as
 * its user would: Pair on home, Start or Join, a hold on Match once the fingerprint is shown, and Save on the naming
 * keyboard (keeping the suggested name). Prints JSON lines.
 */

import { parseConfig } from '../../device/config/config.js';
import { DeviceEngine } from '../../device/engine.js';
import { startHosted } from '../../device/service/hosted.js';
import { holdButton, holdUntilActed, waitForScreen } from '../../device/service/simulator/touch.js';
import { openDeviceScreen } from '../../display/device-screen.js';

const [dataDir, name, iface, role, modeRequest] = process.argv.slice(2) as [
  string,
  string,
  string,
  'start' | 'join',
  string | undefined,
];
const config = parseConfig({
  dataDir,
  device: { name, simulated: true },
  hrng: { sources: [{ kind: 'simulated', seed: `${name}-hrng` }], poolMaxBytes: 1048576 },
  display: { sink: 'sim', input: 'sim', holdMs: 300 },
  pairing: {
    interface: iface,
    chunkBytes: 65536,
    discoveryTimeoutMs: 20_000,
    ioTimeoutMs: 5000,
    approvalTimeoutMs: 60_000,
    ...(modeRequest ? { modeRequest } : {}),
  },
});
const out = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);
const screen = await openDeviceScreen(config, 'simulated');
const engine = DeviceEngine.open({ config, confirmer: screen.confirmer });
screen.attachEngine(engine);
let paired = false;
const hosted = startHosted({
  config,
  engine,
  screen,
  simulated: true,
  refillIdleMs: 100,
  log: (line) => {
    if (line.startsWith('paired with')) paired = true;
  },
});
try {
  const until = Date.now() + 30_000;
  while (hosted.pool.available() < 1048576) {
    if (Date.now() > until) throw new Error('pool did not fill');
    await new Promise((r) => setTimeout(r, 50));
  }
  await waitForScreen(screen, 'home');
  await holdButton(screen, 'pair', 20);
  await waitForScreen(screen, 'pairing-start');
  await holdButton(screen, role, 20);
  const compare = await waitForScreen(screen, 'pairing-compare', 40_000);
  const fingerprint = /\d{4}( \d{4}){4}/.exec(compare.replace(/\s+/g, ' '))?.[0] ?? compare;
  out({ step: 'compare', fingerprint });
  await holdUntilActed(screen, 'match');
  // The owner names the new contact: Save keeps the suggestion, the peer device's own name.
  // The keyboard comes once our own Match has acted (the peer's decision is awaited after naming).
  await waitForScreen(screen, 'keyboard', 45_000);
  await holdButton(screen, 'submit', 20);
  await waitForScreen(screen, 'home', 20_000);
  // The peer's INSTALLED may still be in flight: wait for the pairing to finish (stopping earlier would abort it).
  const until2 = Date.now() + 20_000;
  while (!(paired && engine.pads().some((p) => p.state === 'active')) && Date.now() < until2)
    await new Promise((r) => setTimeout(r, 50));
  // ...and for the pairing to end (the INSTALLED exchange): stopping before would cancel it.
  await hosted.pairingSettled();
  out({
    step: 'done',
    pads: engine.pads().map((p) => ({
      padId: p.padId,
      contact: p.contact,
      side: p.side,
      size: p.size,
      state: p.state,
      insecure: p.insecure,
    })),
  });
} finally {
  await hosted.stop();
  engine.close();
  await screen.close();
}
