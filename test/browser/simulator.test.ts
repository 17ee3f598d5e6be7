/**
 * The simulator in a real browser (Debian's chromium, playwright-core), with the two chat clients: a message
 * alice's client sends appears on alice's screen with its recipient and text; holding Approve on the page lets it
 * through the relay to bob's client, decrypted by bob's device; tapping Deny makes the send fail with DENIED;
 * letting the countdown run out makes it fail with CONFIRM_TIMEOUT.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChatClient, type ChatEvent } from '../../client/chat.js';
import { type PageServer, startPageServer } from '../../device/service/simulator/page-server.js';
import { startWorld, type World } from '../../device/service/simulator/world.js';
import { LinkClient } from '../../rpc/client.js';
import {
  buttonOnPage,
  hasChromium,
  holdOnPageUntilLeft,
  launchChromium,
  waitForScreenOnPage,
} from '../helpers/browser.js';

let root: string;
let world: World;
let server: PageServer;
let browser: Browser;
let page: Page;

describe.skipIf(!hasChromium)('the simulator page in chromium', () => {
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'onepad-browser-'));
    world = await startWorld({ dir: root, fresh: true, confirmTimeoutMs: 4000, holdMs: 800 });
    server = await startPageServer({ alice: world.devices.alice.screen, bob: world.devices.bob.screen });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1600, height: 800 } });
    await page.goto(server.url);
    await page.locator('#screen-alice').waitFor();
    // Both screens are live images on the page.
    await page.waitForFunction('[...document.querySelectorAll("img")].every((i) => i.naturalWidth > 0)');
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await world?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  const chat = (name: 'alice' | 'bob') =>
    new ChatClient({
      name,
      device: new LinkClient({ url: world.devices[name].url }),
      relayUrl: world.relay.url,
      statePath: join(root, `${name}-chat.json`),
    });
  const errorCode = (events: ChatEvent[]) => events.find((e) => e.type === 'error')?.code;

  it('shows the request on alice screen; holding Approve on the page sends it, and bob reads it', async () => {
    const text = 'Meet me at the north gate at nine.';
    const sending = chat('alice').send('bob', text);
    const shown = await waitForScreenOnPage(page, 'alice', 'confirm-encrypt');
    expect(shown).toContain('bob');
    expect(shown).toContain(text);
    const approve = await buttonOnPage(page, 'alice', 'approve');
    // A tap is not enough.
    await page.mouse.click(approve.x, approve.y);
    await page.waitForTimeout(300);
    expect((await waitForScreenOnPage(page, 'alice', 'confirm-encrypt')).length).toBeGreaterThan(0);
    // A hold is.
    await holdOnPageUntilLeft(page, 'alice', 'approve', 'confirm-encrypt');
    expect((await sending).map((e) => e.type)).toContain('sent');
    const got = await chat('bob').receive();
    expect(got.find((e) => e.type === 'message')).toMatchObject({ from: 'alice', text });
    await waitForScreenOnPage(page, 'alice', 'home');
  }, 60_000);

  it('tapping Deny on the page refuses the send with DENIED', async () => {
    const sending = chat('alice').send('bob', 'not this one');
    await waitForScreenOnPage(page, 'alice', 'confirm-encrypt');
    const deny = await buttonOnPage(page, 'alice', 'deny');
    await page.mouse.click(deny.x, deny.y);
    expect(errorCode(await sending)).toBe('DENIED');
    expect((await chat('bob').receive()).some((e) => e.type === 'message')).toBe(false);
  }, 60_000);

  it('letting the countdown run out refuses the send with CONFIRM_TIMEOUT', async () => {
    const started = Date.now();
    const sending = chat('alice').send('bob', 'nobody answers');
    await waitForScreenOnPage(page, 'alice', 'confirm-encrypt');
    expect(errorCode(await sending)).toBe('CONFIRM_TIMEOUT');
    expect(Date.now() - started).toBeGreaterThanOrEqual(3500);
    await waitForScreenOnPage(page, 'alice', 'home');
  }, 60_000);
});
