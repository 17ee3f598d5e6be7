/**
 * The screen `onepad device` runs with: the device screen (display/device-screen.ts), and, once the engine is open,
 * the parts hosted beside it (the pool filler and pairing from the screen, device/service/hosted.ts).
 */

import { openDeviceScreen } from '../../display/device-screen.js';
import { runSetup } from '../../display/setup-flow.js';
import { needsSerial } from '../../hrng/factory.js';
import type { Config } from '../config/config.js';
import { prepareDataDir } from '../data-dir.js';
import { needsSetup, SETUP_WORDS, withIdentity, writeIdentity } from '../identity.js';
import { notifyReady, startupStep } from '../sd-notify.js';
import type { Screen } from './device-command.js';
import { type Hosted, startHosted } from './hosted.js';
import { startPageServer } from './simulator/page-server.js';

/**
 * Open the device's screen and host the filler and pairing once the engine is up. On first boot (no identity saved
 * and no owner's word configured) the screen first asks for the device name and the owner's word, and saves them
 * in the data dir; they then stand in the trusted band and are the name the device pairs under. If `signal` aborts
 * during that setup (the service is stopping), nothing is saved and the screen is returned as it is, for the caller
 * to close.
 * @throws OnepadError DISPLAY_UNAVAILABLE, INPUT_UNAVAILABLE, CONFIG_INVALID (a damaged identity.json)
 */
export async function openHostedScreen(
  configured: Config,
  hardware: 'simulated' | 'device',
  signal?: AbortSignal,
): Promise<Screen> {
  let config = withIdentity(configured);
  const screen = await openDeviceScreen(config, hardware);
  const simulated = hardware === 'simulated' || config.device.simulated;
  const binding = needsSerial(config.hrng.sources, simulated)
    ? (await import('@serialport/bindings-cpp')).autoDetect()
    : undefined;
  let hosted: Hosted | null = null;
  const page =
    screen.sim && config.display.simPagePort > 0
      ? await startPageServer(
          { [config.device.name.replace(/[^A-Za-z0-9._-]/g, '-')]: screen },
          config.display.simPagePort,
        )
      : null;
  if (page) process.stderr.write(`simulated screen: ${page.url}\n`);
  if (needsSetup(configured)) {
    prepareDataDir(configured.dataDir);
    // The device now waits for its owner, for as long as that takes: it is up, and the watchdog guards it.
    notifyReady('first-boot setup on the screen');
    const id = await runSetup(screen.ui, SETUP_WORDS, signal ? { signal } : {});
    if (id) {
      startupStep('saving the identity');
      writeIdentity(configured.dataDir, id);
      config = withIdentity(configured);
      screen.ui.setChrome({ deviceName: id.name, ownerWord: id.ownerWord, insecure: config.device.simulated });
      screen.showHome();
    }
  }
  return {
    confirmer: screen.confirmer,
    privateDisplay: screen.privateDisplay,
    attachEngine(engine) {
      screen.attachEngine(engine);
      hosted = startHosted({
        config,
        engine,
        screen,
        simulated,
        ...(binding ? { binding } : {}),
        log: (line) => process.stderr.write(`${line}\n`),
      });
    },
    async close() {
      await page?.close();
      await hosted?.stop();
      await screen.close();
    },
  };
}
