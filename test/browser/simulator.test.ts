/**
 * The simulator in a real browser (Debian's chromium, playwright-core), with the two chat clients: a message
 * alice's client sends appears on alice's screen with its recipient and text; holding Approve on the page lets it
 * through the relay to bob's client, decrypted by bob's device; tapping Deny makes the send fail with DENIED;
 * letting the countdown run out makes it fail with CONFIRM_TIMEOUT.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatEvent } from '../../client/chat.js';
import { buttonOnPage, hasChromium, holdOnPageUntilLeft, waitForScreenOnPage } from '../helpers/browser.js';
import { openSimulatorPage, type SimulatorPage } from '../helpers/simulator-page.js';

let sim: SimulatorPage;
let page: Page;

describe.skipIf(!hasChromium)('the simulator page in chromium', () => {
  beforeAll(async () => {
    sim = await openSimulatorPage('onepad-browser-', { confirmTimeoutMs: 4000, holdMs: 800 });
    ({ page } = sim);
  }, 120_000);

  afterAll(async () => {
    await sim?.close();
  });

  const chat = (name: 'alice' | 'bob') => sim.chat(name);
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
