/**
 * The simulator's page server refuses other origins' pages and cannot be framed: a page elsewhere (or one whose
 * DNS name was rebound to loopback) cannot press or hold a device button, and no page can put the simulator in a
 * frame to clickjack a hold.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type PageServer, startPageServer } from '../../device/service/simulator/page-server.js';
import { rawRequest } from '../helpers/raw-http.js';

let server: PageServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const statusOf = async (port: number, lines: string[]) =>
  (await rawRequest(port, `${lines.join('\r\n')}\r\nConnection: close\r\n\r\n`)).status;

describe('simulator page server', () => {
  it('answers its own page with frame-ancestors none and X-Frame-Options DENY', async () => {
    server = await startPageServer({});
    const port = Number(new URL(server.url).port);
    const a = await rawRequest(port, `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
    expect(a.status).toBe(200);
    expect(a.raw).toMatch(/\r\ncontent-security-policy: frame-ancestors 'none'\r\n/i);
    expect(a.raw).toMatch(/\r\nx-frame-options: DENY\r\n/i);
  });

  it('refuses another Host (rebinding), another Origin and cross-site fetch metadata; accepts its own', async () => {
    server = await startPageServer({});
    const port = Number(new URL(server.url).port);
    const host = `Host: 127.0.0.1:${port}`;
    const input = 'POST /api/alice/input HTTP/1.1';
    expect(await statusOf(port, [input, `Host: evil.example:${port}`, 'Origin: http://evil.example'])).toBe(421);
    expect(await statusOf(port, [input, host, 'Origin: http://evil.example'])).toBe(403);
    expect(await statusOf(port, [input, host, 'Origin: null'])).toBe(403);
    expect(await statusOf(port, [input, host, `Origin: http://127.0.0.1:${port + 1}`])).toBe(403);
    expect(await statusOf(port, ['GET / HTTP/1.1', host, 'Sec-Fetch-Site: cross-site'])).toBe(403);
    expect(await statusOf(port, ['GET / HTTP/1.1', host, 'Sec-Fetch-Site: same-site'])).toBe(403);
    // Its own page's requests, and a person typing the address, are served (no screen "alice" here: 404).
    expect(await statusOf(port, [input, host, `Origin: http://127.0.0.1:${port}`, 'Sec-Fetch-Site: same-origin'])).toBe(
      404,
    );
    expect(await statusOf(port, ['GET / HTTP/1.1', host, 'Sec-Fetch-Site: none'])).toBe(200);
    expect(
      await statusOf(port, ['GET / HTTP/1.1', `Host: localhost:${port}`, `Origin: http://localhost:${port}`]),
    ).toBe(200);
  });

  it('refuses two Host lines, and sees an Origin or fetch metadata hidden after 2,000 other headers', async () => {
    server = await startPageServer({});
    const port = Number(new URL(server.url).port);
    const host = `Host: 127.0.0.1:${port}`;
    const input = 'POST /api/alice/input HTTP/1.1';
    expect(await statusOf(port, [input, host, 'Host: evil.example'])).toBe(421);
    expect(await statusOf(port, [input, 'Host: evil.example', host])).toBe(421);
    const junk = Array.from({ length: 2000 }, (_, i) => `X-${i}: y`);
    expect(await statusOf(port, [input, host, ...junk, 'Origin: http://evil.example'])).toBe(403);
    expect(await statusOf(port, ['GET / HTTP/1.1', host, ...junk, 'Sec-Fetch-Site: cross-site'])).toBe(403);
    expect(await statusOf(port, ['GET / HTTP/1.1', host, ...junk])).toBe(200);
  });
});
