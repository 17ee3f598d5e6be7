/**
 * Pairing with naming in the simulator page, in a real browser (Debian's chromium, playwright-core): the page is
 * up while the devices pair by hand; on each screen the owner compares, holds Match, and names the other on the
 * on-screen keyboard by clicking its keys; then a message alice's chat sends shows bob under alice's own name for
 * him on her confirm screen, and reaches bob, whose device knows alice by the name he typed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PageServer, startPageServer } from '../../device/service/simulator/page-server.js';
import { startWorld, type World } from '../../device/service/simulator/world.js';
import { charButton } from '../../display/keyboard.js';
import {
  buttonOnPage,
  hasChromium,
  holdOnPageUntilLeft,
  launchChromium,
  screenOnPage,
  waitForScreenOnPage,
} from '../helpers/browser.js';
import { worldChat } from '../helpers/simulator-page.js';

let root: string;
let worldStarting: Promise<World>;
let server: PageServer;
let browser: Browser;
let page: Page;

async function buttonIds(p: Page, device: string): Promise<string[]> {
  const layout = (await p.evaluate(async (d) => (await fetch(`/api/${d}/layout`)).json(), device)) as {
    buttons: { id: string }[];
  };
  return layout.buttons.map((b) => b.id);
}

async function click(p: Page, device: string, id: string): Promise<void> {
  const at = await buttonOnPage(p, device, id);
  await p.mouse.click(at.x, at.y);
  await p.waitForTimeout(60);
}

/** Type on the page's keyboard by clicking its keys, switching ABC / abc / 123 as needed. */
async function typeOnPage(p: Page, device: string, text: string): Promise<void> {
  for (const ch of text) {
    const id = ch === ' ' ? 'space' : charButton(ch);
    for (let tries = 0; !(await buttonIds(p, device)).includes(id); tries++) {
      if (tries > 3) throw new Error(`no key for ${ch}`);
      await click(p, device, /[0-9.@_-]/.test(ch) ? 'mode' : 'shift');
    }
    await click(p, device, id);
  }
}

async function clearOnPage(p: Page, device: string): Promise<void> {
  for (let i = 0; i < 70; i++) {
    const s = await screenOnPage(p, device);
    if (!/\d+\/64/.test(s.text) || /(^|\n)0\/64/.test(s.text)) return;
    await click(p, device, 'backspace');
  }
}

describe.skipIf(!hasChromium)('pairing with naming in the simulator page (chromium)', () => {
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'onepad-browser-naming-'));
    let pageUp: (s: PageServer) => void = () => undefined;
    const up = new Promise<PageServer>((resolve) => {
      pageUp = resolve;
    });
    worldStarting = startWorld({
      dir: root,
      fresh: true,
      pairByHand: true,
      padBytes: 262_144,
      holdMs: 800,
      onScreens: async (screens) => {
        pageUp(await startPageServer({ alice: screens.alice, bob: screens.bob }));
      },
    });
    worldStarting.catch(() => undefined);
    server = await up;
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1600, height: 800 } });
    await page.goto(server.url);
    await page.locator('#screen-alice').waitFor();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await (await worldStarting.catch(() => null))?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('each owner names the other on the page; the confirm screen shows the name; the message arrives', async () => {
    for (const d of ['alice', 'bob']) await waitForScreenOnPage(page, d, 'pairing-compare', 60_000);
    for (const d of ['alice', 'bob']) await holdOnPageUntilLeft(page, d, 'match', 'pairing-compare');
    for (const d of ['alice', 'bob']) {
      const shown = await waitForScreenOnPage(page, d, 'keyboard');
      expect(shown).toContain(d === 'alice' ? 'bob' : 'alice');
    }
    await clearOnPage(page, 'alice');
    await typeOnPage(page, 'alice', 'Bobby T');
    await click(page, 'alice', 'submit');
    await clearOnPage(page, 'bob');
    await typeOnPage(page, 'bob', 'Ali 2');
    await click(page, 'bob', 'submit');
    const world = await worldStarting;
    expect(world.paired?.contact).toBe('Bobby T');

    const chat = (name: 'alice' | 'bob') => worldChat(world, root, name);
    const alice = chat('alice');
    await alice.addContact('bob', 'Bobby T');
    const text = 'Named on the device itself.';
    const sending = alice.send('bob', text);
    const shown = await waitForScreenOnPage(page, 'alice', 'confirm-encrypt');
    expect(shown).toContain('Encrypt for Bobby T?');
    await holdOnPageUntilLeft(page, 'alice', 'approve', 'confirm-encrypt');
    expect((await sending).map((e) => e.type)).toContain('sent');
    const bob = chat('bob');
    await bob.addContact('alice', 'Ali 2');
    const got = await bob.receive();
    expect(got.find((e) => e.type === 'message')).toMatchObject({ from: 'alice', text });
  }, 180_000);
});
