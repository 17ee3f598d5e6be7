/**
 * One device for the pairing-from-the-screen tests: `screen-pair-child.ts <dataDir> <name> <iface> <start|join>
 * [modeRequest|-] [cancel|peer]` (modeRequest: the file to ask for pairing mode through, as on the image).
 * Runs the device screen, the engine and the hosted filler and pairing, then drives its own simulated screen as
 * its user would: Pair on home, Start or Join, a hold on Match once the fingerprint is shown, and Save on the naming
 * keyboard (keeping the suggested name). Prints JSON lines.
 * With `cancel` its user first taps Cancel on the progress screen once the transfer is under way (the pool is
 * prefilled with 32 MiB so the transfer lasts), and `peer` is the other device of that first pairing, whose user
 * only waits; both print what the stopped pairing left (`step: 'stopped'`), then pair again as above.
 */

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../device/config/config.js';
import { prepareDataDir } from '../../device/data-dir.js';
import { DeviceEngine } from '../../device/engine.js';
import { Ledger } from '../../device/ledger/ledger.js';
import { startHosted } from '../../device/service/hosted.js';
import { holdButton, holdUntilActed, waitForScreen } from '../../device/service/simulator/touch.js';
import { openDeviceScreen } from '../../display/device-screen.js';
import { EntropyPool } from '../../hrng/pool.js';
import { SimStream } from '../../hrng/sim-source.js';

const [dataDir, name, iface, role, modeArg, first] = process.argv.slice(2) as [
  string,
  string,
  string,
  'start' | 'join',
  string | undefined,
  'cancel' | 'peer' | undefined,
];
const modeRequest = modeArg === '-' ? undefined : modeArg;
const MIB = 1 << 20;
const poolMaxBytes = first ? 64 * MIB : MIB;
if (first) {
  // Prefilled: the simulated HRNG fills at a few MiB/s, too slowly for a pad that takes a while to pair.
  const layout = prepareDataDir(dataDir);
  const ledger = Ledger.open(layout.ledger);
  const pool = EntropyPool.open({ db: ledger.db, path: layout.pool, maxBytes: poolMaxBytes });
  pool.append(new SimStream(`${name}-prefill`).next(32 * MIB), true);
  pool.close();
  ledger.close();
}
const config = parseConfig({
  dataDir,
  device: { name, simulated: true },
  hrng: { sources: [{ kind: 'simulated', seed: `${name}-hrng` }], poolMaxBytes },
  display: { sink: 'sim', input: 'sim', holdMs: 300 },
  pairing: {
    interface: iface,
    chunkBytes: 65536,
    // With a cancel to come, a narrow window: the transfer lasts long enough for a tap on Cancel.
    ...(first ? { window: 2 } : {}),
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
const logged: string[] = [];
const hosted = startHosted({
  config,
  engine,
  screen,
  simulated: true,
  refillIdleMs: 100,
  log: (line) => {
    logged.push(line);
    if (line.startsWith('paired with')) paired = true;
  },
});
try {
  const until = Date.now() + 30_000;
  while (hosted.pool.available() < MIB) {
    if (Date.now() > until) throw new Error('pool did not fill');
    await new Promise((r) => setTimeout(r, 50));
  }
  await waitForScreen(screen, 'home');
  if (first) await stoppedPairing(first);
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

/**
 * Pair, Start or Join, and then either tap Cancel on the progress screen once the transfer is under way (`cancel`)
 * or just wait (`peer`) until the pairing has ended; print what it left.
 */
async function stoppedPairing(how: 'cancel' | 'peer'): Promise<void> {
  await holdButton(screen, 'pair', 20);
  await waitForScreen(screen, 'pairing-start');
  await holdButton(screen, role, 20);
  let shown = '';
  if (how === 'cancel') {
    // The progress screen with figures (bytes of the total): the peer answered and chunks are moving.
    const until = Date.now() + 40_000;
    for (;;) {
      const l = screen.ui.debugLayout();
      const bytes = l?.screen === 'pairing-progress' ? l.texts.find((t) => t.id === 'progress.bytes')?.text : undefined;
      if (bytes && !/^0 B of/.test(bytes)) {
        shown = bytes;
        break;
      }
      if (Date.now() > until) throw new Error(`no transfer on screen (showing ${l?.screen ?? 'nothing'})`);
      await new Promise((r) => setTimeout(r, 5));
    }
    await holdButton(screen, 'cancel', 20);
  }
  await hosted.pairingSettled();
  const home = await waitForScreen(screen, 'home', 20_000);
  const c = engine.ledger.db.prepare('SELECT consumed, burned FROM pool WHERE id = 1').get() as {
    consumed: number;
    burned: number;
  };
  out({
    step: 'stopped',
    shown,
    home: home.length > 0,
    log: logged.filter((l) => l.startsWith('pairing') || l.startsWith('paired')),
    pads: engine.pads().map((p) => ({ padId: p.padId, state: p.state })),
    padFiles: readdirSync(join(dataDir, 'pads')),
    events: engine.events.recent(20, ['PAIRING_FAILED']).map((e) => e.detail),
    consumed: c.consumed,
    burned: c.burned,
  });
}
