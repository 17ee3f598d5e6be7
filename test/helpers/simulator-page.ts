/**
 * The simulator world with its page open in Debian's chromium, as the browser tests use it: two devices and a
 * relay in a temp dir, the page server showing both screens, both screen images loaded.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { ChatClient } from '../../client/chat.js';
import { type PageServer, startPageServer } from '../../device/service/simulator/page-server.js';
import { startWorld, type World, type WorldOptions } from '../../device/service/simulator/world.js';
import { LinkClient } from '../../rpc/client.js';
import { launchChromium } from './browser.js';

/** A running world and the page that shows it. */
export interface SimulatorPage {
  readonly root: string;
  readonly world: World;
  readonly server: PageServer;
  readonly browser: Browser;
  readonly page: Page;
  /** A chat client of `name`'s device, its state in the world's dir. */
  chat(name: 'alice' | 'bob'): ChatClient;
  /** Close the browser, the page server and the world, and remove the dir. */
  close(): Promise<void>;
}

/** A chat client of `name`'s device in `world`, its state file in `dir`. */
export function worldChat(world: World, dir: string, name: 'alice' | 'bob'): ChatClient {
  return new ChatClient({
    name,
    device: new LinkClient({ url: world.devices[name].url }),
    relayUrl: world.relay.url,
    statePath: join(dir, `${name}-chat.json`),
  });
}

/**
 * Start a fresh world in a new temp dir named after `prefix` and open its page (1600x800) once both screens show.
 *
 * @throws whatever starting the world, the page server or chromium throws (what was started is stopped first)
 */
export async function openSimulatorPage(prefix: string, options: WorldOptions = {}): Promise<SimulatorPage> {
  const root = mkdtempSync(join(tmpdir(), prefix));
  let world: World | undefined;
  let server: PageServer | undefined;
  let browser: Browser | undefined;
  const close = async () => {
    await browser?.close();
    await server?.close();
    await world?.stop();
    rmSync(root, { recursive: true, force: true });
  };
  try {
    world = await startWorld({ dir: root, fresh: true, ...options });
    server = await startPageServer({ alice: world.devices.alice.screen, bob: world.devices.bob.screen });
    browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1600, height: 800 } });
    await page.goto(server.url);
    await page.locator('#screen-alice').waitFor();
    // Both screens are live images on the page.
    await page.waitForFunction('[...document.querySelectorAll("img")].every((i) => i.naturalWidth > 0)');
    const w = world;
    const chat = (name: 'alice' | 'bob') => worldChat(w, root, name);
    return { root, world, server, browser, page, chat, close };
  } catch (e) {
    await close();
    throw e;
  }
}
