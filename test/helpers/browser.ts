/**
 * Debian's chromium driven by playwright-core (never a downloaded browser). `npm test`'s global setup installs
 * the `chromium` package (.ci/apt-packages); elsewhere the tests skip when it is missing, and fail under CI.
 */
import { existsSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';

export const CHROMIUM = process.env.ONEPAD_CHROMIUM ?? '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM) || process.env.CI === 'true';

/** @param extraArgs - more chromium switches (e.g. `--host-resolver-rules=MAP name 127.0.0.1`) */
export function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      ...extraArgs,
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** The centre of a device button in page coordinates, from the screen's debug layout. */
export async function buttonOnPage(page: Page, device: string, button: string): Promise<{ x: number; y: number }> {
  const layout = (await page.evaluate(async (d) => (await fetch(`/api/${d}/layout`)).json(), device)) as {
    buttons: { id: string; box: { x: number; y: number; w: number; h: number } }[];
  };
  const b = layout.buttons.find((x) => x.id === button);
  if (!b) throw new Error(`no button ${button} on ${device}'s screen`);
  const img = page.locator(`#screen-${device}`);
  const box = await img.boundingBox();
  type Img = { naturalWidth: number; naturalHeight: number; clientLeft: number };
  const natural = await img.evaluate((el) => {
    const i = el as unknown as Img;
    return { w: i.naturalWidth, h: i.naturalHeight, border: i.clientLeft };
  });
  if (!box) throw new Error('screen not visible');
  const inner = {
    x: box.x + natural.border,
    y: box.y + natural.border,
    w: box.width - 2 * natural.border,
    h: box.height - 2 * natural.border,
  };
  return {
    x: inner.x + ((b.box.x + b.box.w / 2) / natural.w) * inner.w,
    y: inner.y + ((b.box.y + b.box.h / 2) / natural.h) * inner.h,
  };
}

/** The screen id and texts a device shows, read in the page through the simulator's layout API. */
export async function screenOnPage(page: Page, device: string): Promise<{ screen: string; text: string }> {
  const layout = (await page.evaluate(async (d) => (await fetch(`/api/${d}/layout`)).json(), device)) as {
    screen: string;
    texts: { text: string }[];
  };
  return { screen: layout.screen, text: layout.texts.map((t) => t.text).join('\n') };
}

/** Wait until the device shows `screen` on the page. */
export async function waitForScreenOnPage(
  page: Page,
  device: string,
  screen: string,
  timeoutMs = 15_000,
): Promise<string> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const s = await screenOnPage(page, device);
    if (s.screen === screen) return s.text;
    if (Date.now() > until) throw new Error(`${device} did not show ${screen} (shows ${s.screen})`);
    await page.waitForTimeout(50);
  }
}

/**
 * Hold the mouse on a guarded button of the page until the device leaves `screen`, as a person holds until the bar
 * fills (on a loaded machine the hold's timers run late, so a fixed hold may be released too early).
 * @throws Error when the device still shows `screen` after `timeoutMs` of holding
 */
export async function holdOnPageUntilLeft(
  page: Page,
  device: string,
  button: string,
  screen: string,
  timeoutMs = 15_000,
): Promise<void> {
  const at = await buttonOnPage(page, device, button);
  await page.mouse.move(at.x, at.y);
  await page.mouse.down();
  try {
    const until = Date.now() + timeoutMs;
    while ((await screenOnPage(page, device)).screen === screen) {
      if (Date.now() > until) throw new Error(`${device}: holding ${button} did not leave ${screen}`);
      await page.waitForTimeout(50);
    }
  } finally {
    await page.mouse.up();
  }
}
