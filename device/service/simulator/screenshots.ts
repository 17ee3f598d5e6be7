/**
 * `node --import tsx device/service/simulator/screenshots.ts`: regenerate the README's screenshots (docs/images/) from the
 * simulator: the page in Debian's chromium (playwright-core), and single screens straight from the simulated sink.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { LinkClient } from '../../../rpc/client.js';
import { startPageServer } from './page-server.js';
import { holdUntilActed, waitForScreen } from './touch.js';
import { startWorld } from './world.js';

const out = new URL('../../../docs/images/', import.meta.url);
const tmp = mkdtempSync(join(tmpdir(), 'onepad-shots-'));
const world = await startWorld({ dir: tmp, fresh: true });
const page = await startPageServer({ alice: world.devices.alice.screen, bob: world.devices.bob.screen });
const browser = await chromium.launch({
  executablePath: process.env.ONEPAD_CHROMIUM ?? '/usr/bin/chromium',
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
  ],
});
const save = (name: string, png: Buffer | null) => png && writeFileSync(new URL(name, out), png);
try {
  const tab = await browser.newPage({ viewport: { width: 1500, height: 660 } });
  await tab.goto(page.url);
  const alice = world.devices.alice;
  const sending = new LinkClient({ url: alice.url }).package('bob', {
    text: 'Meet me at the north gate at nine. Bring the map, not the phone.',
  });
  await waitForScreen(alice.screen, 'confirm-encrypt');
  await tab.waitForTimeout(600);
  await tab.screenshot({ path: new URL('simulator-page.png', out).pathname });
  save('confirm-encrypt.png', alice.screen.sim!.sink.latestPng());
  await holdUntilActed(alice.screen, 'approve');
  const pkg = await sending;
  await new LinkClient({ url: world.devices.bob.url }).unpackage(pkg.package);
  await tab.waitForTimeout(300);
  save('home.png', world.devices.bob.screen.sim!.sink.latestPng());
  const ac = new AbortController();
  const asking = alice.screen.pairApprover.approvePairing(
    {
      peer: 'carol',
      side: 'A',
      size: 1 << 20,
      fingerprint: world.paired?.fingerprint ?? '0000 0000 0000 0000 0000',
      insecure: true,
    },
    ac.signal,
  );
  await waitForScreen(alice.screen, 'pairing-compare');
  await tab.waitForTimeout(300);
  save('pairing-compare.png', alice.screen.sim!.sink.latestPng());
  ac.abort();
  await asking;
} finally {
  await browser.close();
  await page.close();
  await world.stop();
  rmSync(tmp, { recursive: true, force: true });
}
