/**
 * Boot test only: the device service as the two-device boot test runs it inside each guest, in place of
 * `onepad device` (onepad.service's ExecStart, through a drop-in the test writes into its copy of the root fs; the
 * image itself does not have this file). `guest-device.mjs <config> <start|join>`.
 *
 * The same parts as `onepad device` with the device screen, from the image's own /usr/lib/onepad: engine, link
 * server, the device screen (simulated sink and input), the pool filler and pairing from the screen — asking for
 * pairing mode through /run/onepad/pairing-request, so the image's path unit, helper and firewall are exercised.
 * Its user is played by the simulated input the screen tests use (device/service/simulator/touch.ts): Pair, Start
 * or Join, a hold on Match, Save on the naming keyboard. The laptop's requests are approved without the screen
 * (the test's device is simulated, its pads insecure). Progress goes to stdout as `ONEPAD-GUEST {json}` lines,
 * which the unit's drop-in copies to the serial console.
 */
// The image's app; ONEPAD_APP points elsewhere only to try this file outside a guest.
const APP = process.env.ONEPAD_APP ?? '/usr/lib/onepad';
const load = (rel) => import(`${APP}/dist/${rel}`);
const { loadConfig } = await load('device/config/config.js');
const { autoApprove } = await load('device/confirm.js');
const { startHosted } = await load('device/service/hosted.js');
const { holdButton, holdUntilActed, waitForScreen } = await load('device/service/simulator/touch.js');
const { openDeviceScreen } = await load('display/device-screen.js');
const { startDeviceService } = await load('rpc/service.js');
// onepad.service is Type=notify: say READY=1 once the link serves, as `onepad device` does.
const { notifyReady } = await load('device/sd-notify.js');

const [configPath, role] = process.argv.slice(2);
const out = (o) => process.stdout.write(`ONEPAD-GUEST ${JSON.stringify(o)}\n`);
const MIN = 60_000;
const config = loadConfig(configPath);
const screen = await openDeviceScreen(config, 'simulated');
const service = await startDeviceService({ config, confirmer: autoApprove, simulated: true });
screen.attachEngine(service.engine);
let paired = false;
const hosted = startHosted({
  config,
  engine: service.engine,
  screen,
  simulated: true,
  log: (line) => {
    if (line.startsWith('paired with')) paired = true;
    out({ log: line });
  },
});
const ac = new AbortController();
for (const sig of ['SIGTERM', 'SIGINT']) process.once(sig, () => ac.abort());
out({ step: 'listening', address: service.address, port: service.port });
notifyReady('serving the link');

try {
  const want = config.hrng.poolMaxBytes;
  while (hosted.pool.available() < want) {
    if (ac.signal.aborted) throw new Error('stopped');
    await new Promise((r) => setTimeout(r, 200));
  }
  out({ step: 'pool', bytes: hosted.pool.available() });
  await waitForScreen(screen, 'home', 10 * MIN);
  await holdButton(screen, 'pair', 20);
  await waitForScreen(screen, 'pairing-start', MIN);
  await holdButton(screen, role, 20);
  out({ step: role });
  const compare = await waitForScreen(screen, 'pairing-compare', 15 * MIN);
  out({ step: 'compare', fingerprint: /\d{4}( \d{4}){4}/.exec(compare.replace(/\s+/g, ' '))?.[0] ?? compare });
  // The users compare the fingerprints for a while (the host probes the laptop's port meanwhile).
  await new Promise((r) => setTimeout(r, 20_000));
  await holdUntilActed(screen, 'match', 2 * MIN);
  await waitForScreen(screen, 'keyboard', 10 * MIN);
  await holdButton(screen, 'submit', 20);
  await waitForScreen(screen, 'home', 5 * MIN);
  await hosted.pairingSettled();
  out({
    step: paired ? 'paired' : 'not-paired',
    pads: service.engine.pads().map((p) => ({ contact: p.contact, padId: p.padId, state: p.state, size: p.size })),
  });
} catch (e) {
  out({ step: 'error', error: String(e?.code ?? e?.message ?? e) });
}
// Serve the laptop until stopped.
await new Promise((r) => ac.signal.addEventListener('abort', r, { once: true }));
await hosted.stop();
await service.stop();
await screen.close();
