/**
 * DNS rebinding in a real browser (Debian's chromium, playwright-core): a page at http://evil.example:PORT/ whose
 * name then resolves to the device (chromium's host resolver maps evil.example to loopback, where the device's
 * link server listens on PORT) calls fetch() against the device the way a rebound page would: same-origin from
 * the browser's point of view. And a page of another origin posts to the device by its IP. Every request is
 * refused before the engine: no segment burned (ledger byte-identical), no prompt, and the owner's client then
 * opens the same package.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LinkClient } from '../../rpc/client.js';
import { build, listen, type RpcServer } from '../../rpc/server.js';
import { hasChromium, launchChromium } from '../helpers/browser.js';
import { makePair, type Pair, ScriptedConfirmer } from '../helpers/engine-fixture.js';
import { stateHash } from '../helpers/ledger-snapshot.js';

const LINK = { link: { address: '127.0.0.1', peer: '127.0.0.1' }, engine: { maxMessageLength: 512 } };

describe.skipIf(!hasChromium)('a rebound page in chromium', () => {
  let pair: Pair;
  let bob: RpcServer;
  let user: ScriptedConfirmer;
  let port: number;
  let pkg: string;
  let browser: Browser;
  let page: Page;
  const seen: Record<string, string>[] = [];

  beforeAll(async () => {
    pair = makePair(8192);
    const alice = build({ engine: pair.openA({}, LINK), config: pair.configA(LINK) });
    const r = await alice.inject({
      method: 'POST',
      url: '/package',
      authority: '127.0.0.1:4747',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ contact: 'bob', text: 'only for bob' }),
    });
    pkg = (r.json() as { package: string }).package;
    await alice.close();
    user = new ScriptedConfirmer('approved');
    bob = build({ engine: pair.openB({ confirmer: user }, LINK), config: pair.configB(LINK) });
    // Every request as it reached the device's HTTP server (before any hook answered it).
    bob.server.on('request', (req) => {
      seen.push({
        host: String(req.headers.host),
        origin: String(req.headers.origin),
        site: String(req.headers['sec-fetch-site']),
      });
    });
    port = (await listen(bob, pair.configB(LINK).link, { simulated: false, port: 0 })).port;
    browser = await launchChromium([
      '--host-resolver-rules=MAP evil.example 127.0.0.1',
      // Chromium's own Private Network Access checks would stop these requests before they leave the browser.
      // Other browsers have none: turned off, the device's own refusal is what is tested.
      '--disable-features=PrivateNetworkAccessSendPreflights,PrivateNetworkAccessRespectPreflightResults,BlockInsecurePrivateNetworkRequests,LocalNetworkAccessChecks',
    ]);
    page = await browser.newPage();
    // The attacker's page, as its server would have served it before the name was rebound.
    await page.route(`http://evil.example:${port}/`, (route) =>
      route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>cats</title><p>cats' }),
    );
    await page.goto(`http://evil.example:${port}/`);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await bob?.close();
    pair?.cleanup();
  });

  it('same-origin fetch() to /unpackage and /package after rebinding: HOST_REFUSED, nothing burned or asked', async () => {
    const before = stateHash(pair.dirB);
    const answers = (await page.evaluate(async (p) => {
      const out: { status: number; code: string }[] = [];
      for (const [path, body] of [
        ['/unpackage', { package: p }],
        ['/package', { contact: 'alice', text: 'pay mallory 100' }],
      ] as const) {
        const r = await fetch(path, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        out.push({ status: r.status, code: ((await r.json()) as { error: { code: string } }).error.code });
      }
      return out;
    }, pkg)) as { status: number; code: string }[];
    expect(answers).toEqual([
      { status: 421, code: 'HOST_REFUSED' },
      { status: 421, code: 'HOST_REFUSED' },
    ]);
    // What chromium sent: its own name in Host and an Origin (no fetch metadata: http://evil.example is not a
    // secure context).
    expect(seen.at(-1)).toEqual({
      host: `evil.example:${port}`,
      origin: `http://evil.example:${port}`,
      site: 'undefined',
    });
    expect(stateHash(pair.dirB)).toBe(before);
    expect(user.asked).toHaveLength(0);
    const opened = await new LinkClient({ url: `http://127.0.0.1:${port}` }).unpackage(pkg);
    expect(opened.text).toBe('only for bob');
  });

  it('another origin posting to the device by its IP (CORS and no-cors): ORIGIN_REFUSED, nothing asked', async () => {
    const before = stateHash(pair.dirB);
    seen.length = 0;
    const result = (await page.evaluate(
      async ({ target }) => {
        const body = JSON.stringify({ contact: 'alice', text: 'pay mallory 100' });
        let cors = 'answered';
        try {
          await fetch(`${target}/package`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        } catch {
          cors = 'failed';
        }
        const opaque = await fetch(`${target}/package`, { method: 'POST', mode: 'no-cors', body });
        return { cors, opaque: opaque.type };
      },
      { target: `http://127.0.0.1:${port}` },
    )) as { cors: string; opaque: string };
    expect(result).toEqual({ cors: 'failed', opaque: 'opaque' });
    // The device saw the preflight and the no-cors post, each with the page's Origin, and refused both.
    expect(seen.length).toBeGreaterThanOrEqual(2);
    for (const s of seen) expect(s.origin).toBe(`http://evil.example:${port}`);
    expect(user.asked).toHaveLength(0);
    expect(stateHash(pair.dirB)).toBe(before);
  });
});
