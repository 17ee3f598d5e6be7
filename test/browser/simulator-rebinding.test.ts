/**
 * The simulator against web pages, in Debian's chromium: the simulated devices' link servers and the simulator
 * page itself. A page whose DNS name was rebound to loopback (chromium maps evil.example to 127.0.0.1) reaches a
 * simulated device's link port same-origin and gets HOST_REFUSED (no prompt on the screen, nothing burned); the
 * same page rebound to the simulator page's port cannot press a button or read a layout (421); and a page that
 * puts the simulator in an iframe gets nothing rendered (frame-ancestors 'none', X-Frame-Options DENY): the frame
 * never asks for a screen image, so there is nothing to clickjack. The owner's own client still reaches the device.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PageServer, startPageServer } from '../../device/service/simulator/page-server.js';
import { startWorld, type World } from '../../device/service/simulator/world.js';
import { LinkClient } from '../../rpc/client.js';
import { hasChromium, launchChromium } from '../helpers/browser.js';
import { stateHash } from '../helpers/ledger-snapshot.js';

describe.skipIf(!hasChromium)('the simulator against a rebound or framing page in chromium', () => {
  let root: string;
  let world: World;
  let server: PageServer;
  let pagePort: number;
  let browser: Browser;
  let page: Page;
  const pageRequests: string[] = [];

  /** What alice's screen shows, asked of the page server as its own page would. */
  async function aliceScreen(): Promise<string> {
    const r = await fetch(`${server.url}api/alice/layout`);
    return ((await r.json()) as { screen: string }).screen;
  }

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'onepad-sim-rebind-'));
    world = await startWorld({ dir: root, fresh: true, padBytes: 65536 });
    server = await startPageServer({ alice: world.devices.alice.screen, bob: world.devices.bob.screen });
    pagePort = Number(new URL(server.url).port);
    server.server.on('request', (req) => pageRequests.push(`${req.method} ${req.url} ${req.headers.host}`));
    browser = await launchChromium([
      '--host-resolver-rules=MAP evil.example 127.0.0.1',
      // As in rebinding.test.ts: chromium's own Private Network Access checks off, so the servers' own refusal
      // is what is tested (other browsers have none).
      '--disable-features=PrivateNetworkAccessSendPreflights,PrivateNetworkAccessRespectPreflightResults,BlockInsecurePrivateNetworkRequests,LocalNetworkAccessChecks',
    ]);
    page = await browser.newPage();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await world?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  /** Serve the attacker's page at `url` (as its server did before the name was rebound) and open it. */
  async function openEvil(url: string, body: string): Promise<void> {
    await page.route(url, (route) => route.fulfill({ status: 200, contentType: 'text/html', body }));
    await page.goto(url);
  }

  it("a page rebound to a simulated device's link port: HOST_REFUSED, no prompt, nothing burned", async () => {
    const alice = world.devices.alice;
    const port = Number(new URL(alice.url).port);
    const before = stateHash(alice.config.dataDir);
    await openEvil(`http://evil.example:${port}/`, '<!doctype html><title>cats</title>');
    const answers = await page.evaluate(async () => {
      const out: string[] = [];
      for (const [path, body] of [
        ['/package', { contact: 'bob', text: 'pay mallory 100' }],
        ['/unpackage', { package: 'AAAA' }],
      ] as const) {
        const r = await fetch(path, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        out.push(`${r.status} ${((await r.json()) as { error: { code: string } }).error.code}`);
      }
      return out;
    });
    expect(answers).toEqual(['421 HOST_REFUSED', '421 HOST_REFUSED']);
    expect(await aliceScreen()).toBe('home');
    expect(stateHash(alice.config.dataDir)).toBe(before);
    // The owner's own client is answered by the engine (four bytes are no package).
    await expect(new LinkClient({ url: alice.url }).unpackage('AAAA')).rejects.toMatchObject({ code: 'MALFORMED' });
  }, 60_000);

  it("a page rebound to the simulator page's port cannot press, hold or read (421)", async () => {
    pageRequests.length = 0;
    await openEvil(`http://evil.example:${pagePort}/`, '<!doctype html><title>cats</title>');
    const answers = await page.evaluate(async () => {
      const input = (phase: string) =>
        fetch('/api/alice/input', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ phase, x: 10, y: 10 }),
        }).then((r) => r.status);
      return [await input('press'), await input('release'), await fetch('/api/alice/layout').then((r) => r.status)];
    });
    expect(answers).toEqual([421, 421, 421]);
    // Every request that reached the page server named evil.example (the route served the page itself).
    expect(pageRequests.length).toBeGreaterThanOrEqual(3);
    for (const r of pageRequests) expect(r).toContain(`evil.example:${pagePort}`);
    expect(await aliceScreen()).toBe('home');
  }, 60_000);

  it('a page framing the simulator: nothing rendered, no screen image asked for', async () => {
    pageRequests.length = 0;
    await openEvil(
      'http://evil.example:9/',
      `<!doctype html><title>win a prize</title><iframe id="f" src="${server.url}" width="1200" height="600"></iframe>`,
    );
    // The frame's document was asked for (the browser must read its headers to refuse it)...
    const until = Date.now() + 15_000;
    while (!pageRequests.some((r) => r.startsWith('GET / '))) {
      if (Date.now() > until) throw new Error(`the frame was never requested: ${JSON.stringify(pageRequests)}`);
      await page.waitForTimeout(50);
    }
    // ... but not rendered: the simulator page would ask for each screen's image and event stream at once.
    await page.waitForTimeout(1500);
    expect(pageRequests.filter((r) => r.includes('/api/'))).toEqual([]);
    const frame = page.frames().find((f) => f !== page.mainFrame());
    expect(frame?.url()).not.toBe(server.url);
    // Its own tab renders it (the test would prove nothing if the page never asked for images).
    const own = await browser.newPage();
    try {
      pageRequests.length = 0;
      await own.goto(server.url);
      await own.waitForFunction('[...document.querySelectorAll("img")].some((i) => i.naturalWidth > 0)');
      expect(pageRequests.some((r) => r.includes('/api/alice/frame.png'))).toBe(true);
    } finally {
      await own.close();
    }
  }, 60_000);
});
