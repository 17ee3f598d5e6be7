/**
 * The faithful confirm screen on the simulator page in a real browser (Debian's chromium, playwright-core):
 * a message from alice's chat client hiding a sentence in tag characters and a Cyrillic look-alike shows, on
 * the page's image of alice's screen, the escapes (dark red boxes), the highlighted letter and the orange
 * warning line; denied there, nothing reaches bob.
 */
import { createCanvas, loadImage } from '@napi-rs/canvas';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAITHFUL_COLORS } from '../../display/faithful-draw.js';
import { COLORS } from '../../display/paint.js';
import { buttonOnPage, hasChromium, waitForScreenOnPage } from '../helpers/browser.js';
import { openSimulatorPage, type SimulatorPage } from '../helpers/simulator-page.js';

let sim: SimulatorPage;
let page: Page;

/** Pixels of a screenshot within `tolerance` of a colour (the page may scale the image). */
async function countColor(png: Buffer, hex: string, tolerance = 6): Promise<number> {
  const img = await loadImage(png);
  const ctx = createCanvas(img.width, img.height).getContext('2d');
  ctx.drawImage(img, 0, 0);
  const d = ctx.getImageData(0, 0, img.width, img.height).data;
  const n = Number.parseInt(hex.slice(1), 16);
  const [r, g, b] = [n >> 16, (n >> 8) & 255, n & 255];
  let count = 0;
  for (let i = 0; i < d.length; i += 4) {
    if (
      Math.abs(d[i]! - r) <= tolerance &&
      Math.abs(d[i + 1]! - g) <= tolerance &&
      Math.abs(d[i + 2]! - b) <= tolerance
    )
      count++;
  }
  return count;
}

describe.skipIf(!hasChromium)('the faithful confirm screen on the simulator page in chromium', () => {
  beforeAll(async () => {
    sim = await openSimulatorPage('onepad-browser-faithful-', { confirmTimeoutMs: 20_000, holdMs: 800 });
    ({ page } = sim);
  }, 120_000);

  afterAll(async () => {
    await sim?.close();
  });

  const chat = (name: 'alice' | 'bob') => sim.chat(name);

  it('hidden tag characters and a look-alike letter are visible on the page; Deny keeps them from bob', async () => {
    const hidden = Array.from('pay eve', (c) => String.fromCodePoint(0xe0000 + c.charCodeAt(0))).join('');
    const sending = chat('alice').send('bob', `hello bob${hidden} see pаypal.com`);
    const shown = await waitForScreenOnPage(page, 'alice', 'confirm-encrypt');
    expect(shown).toContain('bob⟨U+E0070⟩⟨U+E0061⟩⟨U+E0079⟩⟨U+E0020⟩⟨U+E0065⟩⟨U+E0076⟩⟨U+E0065⟩');
    expect(shown).toContain('⚠ 7 shown as ⟨codes⟩ · 1 letter of another script');
    // What the page shows, in pixels: the image follows the screen a moment later; then look for the styles.
    let shot: Buffer = Buffer.alloc(0);
    for (let i = 0; i < 40; i++) {
      shot = await page.locator('#screen-alice').screenshot();
      if ((await countColor(shot, COLORS.warn)) > 500) break;
      await page.waitForTimeout(100);
    }
    expect(await countColor(shot, COLORS.warn)).toBeGreaterThan(500);
    expect(await countColor(shot, FAITHFUL_COLORS.escapeBg)).toBeGreaterThan(500);
    expect(await countColor(shot, FAITHFUL_COLORS.outsiderBg)).toBeGreaterThan(50);
    const deny = await buttonOnPage(page, 'alice', 'deny');
    await page.mouse.click(deny.x, deny.y);
    expect((await sending).find((e) => e.type === 'error')?.code).toBe('DENIED');
    expect((await chat('bob').receive()).some((e) => e.type === 'message')).toBe(false);
  }, 90_000);
});
