/**
 * Slow clients against the relay on real sockets (loopback, each client with its own 127.0.0.x): one source
 * opening many connections that trickle their headers a byte at a time, just often enough never to be idle, or
 * send their headers and then trickle the body. Trickling buys nothing: the header and request timeouts count
 * from the start of the request, so every connection is answered REQUEST_TIMEOUT and closed on time; the source
 * never holds more than its share of connections; two honest users beside it are served all along. And a
 * raw-socket fuzz of framing mutations of a send: every answer is a registry answer, and the shared client-error
 * handler adds no listener however often Node reports errors (no MaxListenersExceededWarning).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runHonest } from '../../bench/relay-load.js';
import { newRelayToken } from '../../client/relay-client.js';
import { parseRelayConfig } from '../../client/relay-config.js';
import { type RelayService, startRelay } from '../../client/relay-service.js';
import { ERRORS } from '../../device/errors.js';
import { rawRequest } from '../helpers/raw-http.js';

let dir: string;
let service: RelayService;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'onepad-relay-slow-'));
  service = await startRelay({
    config: parseRelayConfig({
      address: '127.0.0.1',
      dbPath: join(dir, 'r.db'),
      logLevel: 'silent',
      headersTimeoutMs: 1000,
      requestTimeoutMs: 2000,
      perSource: { maxConnections: 8 },
    }),
    port: 0,
  });
});
afterAll(async () => {
  await service?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Slow {
  /** Milliseconds from open to close; the answer's status (0: closed without one). */
  readonly closed: Promise<{ ms: number; status: number }>;
  destroy(): void;
}

/** One connection from `localAddress` sending `head`, then `drip` every `everyMs` until the server closes it. */
function slow(localAddress: string, head: string, drip: string, everyMs: number): Slow {
  const s = connect({ port: service.port, host: '127.0.0.1', localAddress });
  const t0 = Date.now();
  let raw = '';
  s.on('error', () => undefined);
  s.on('data', (d) => {
    raw += d.toString('latin1');
  });
  s.on('connect', () => s.write(head));
  const timer = setInterval(() => {
    if (s.writable) s.write(drip);
  }, everyMs);
  const closed = new Promise<{ ms: number; status: number }>((resolve) =>
    s.on('close', () => {
      clearInterval(timer);
      resolve({ ms: Date.now() - t0, status: Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0) });
    }),
  );
  return { closed, destroy: () => s.destroy() };
}

describe('slow connections from one source', () => {
  it('trickled headers or bodies are cut off on time; the source holds at most 8; honest users are served', async () => {
    const abuser = '127.0.0.77';
    const head = 'POST /messages HTTP/1.1\r\nHost: relay\r\nX-Slow: ';
    const bodyHead =
      'POST /messages HTTP/1.1\r\nHost: relay\r\nContent-Type: application/json\r\nContent-Length: 50000\r\n\r\n{';
    const honest = ['s1', 's2'].map((name, i) =>
      runHonest({
        url: service.url,
        localAddress: `127.0.0.${30 + i}`,
        name,
        peer: i === 0 ? 's2' : 's1',
        durationMs: 4000,
        intervalMs: 200,
      }),
    );
    // Three waves of 20 connections each (half trickling headers, half bodies), one every 1.2 s.
    const conns: Slow[] = [];
    for (let wave = 0; wave < 3; wave++) {
      for (let i = 0; i < 20; i++) conns.push(slow(abuser, i % 2 ? head : bodyHead, i % 2 ? 'a' : ' ', 150));
      await new Promise((r) => setTimeout(r, 1200));
    }
    const [h1, h2] = await Promise.all(honest);
    const until = Date.now() + 15_000;
    const results = await Promise.race([
      Promise.all(conns.map((c) => c.closed)),
      new Promise<null>((r) => setTimeout(() => r(null), until - Date.now())),
    ]);
    for (const c of conns) c.destroy();
    expect(results, 'every slow connection was closed by the relay').not.toBeNull();
    const answered = (results ?? []).filter((r) => r.status !== 0);
    // Those accepted were answered 408 and cut off within the request timeout plus check and linger slack; the
    // rest were closed at once, unanswered (beyond the source's 8).
    for (const r of answered) {
      expect(r.status).toBe(408);
      expect(r.ms).toBeLessThan(2000 + 2000 + 1500);
    }
    expect(answered.length).toBeGreaterThan(0);
    expect(answered.length).toBeLessThan(conns.length);
    expect(service.server.sourceConnections.peak()).toBeLessThanOrEqual(8);
    for (const h of [h1, h2]) {
      const sends = Object.values(h?.sends ?? {}).reduce((a, b) => a + b, 0);
      expect(sends).toBeGreaterThan(0);
      expect(h?.sends).toEqual({ ok: sends });
      expect(Object.keys(h?.fetches ?? {})).toEqual(['ok']);
    }
  }, 40_000);
});

describe('a raw-socket fuzz of framing mutations', () => {
  it('gets registry answers only, and no MaxListenersExceededWarning', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    const body = JSON.stringify({ from: 'fuzz', to: 'bob', package: Buffer.alloc(80, 1).toString('base64') });
    const valid =
      `POST /messages HTTP/1.1\r\nHost: relay\r\nAuthorization: Bearer ${newRelayToken()}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`;
    const statuses = new Set([100, 200, ...Object.values(ERRORS).map((e) => e.status)]);
    const mutation = fc.oneof(
      fc
        .tuple(fc.nat({ max: valid.length }), fc.string({ maxLength: 8 }))
        .map(([i, x]) => valid.slice(0, i) + x + valid.slice(i)),
      fc
        .tuple(fc.nat({ max: valid.length }), fc.nat({ max: 8 }))
        .map(([i, n]) => valid.slice(0, i) + valid.slice(i + n)),
      fc.integer({ min: 2, max: 20 }).map((n) => valid.replace('Connection: close\r\n', '').repeat(n)),
      fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('latin1')),
    );
    try {
      await fc.assert(
        fc.asyncProperty(mutation, async (m) => {
          const a = await rawRequest(service.port, Buffer.from(m, 'latin1'), { host: '127.0.0.1', timeoutMs: 4000 });
          if (a.status === 0) return;
          for (const line of a.raw.match(/HTTP\/1\.1 \d{3}[^\r]*/g) ?? []) {
            expect(statuses.has(Number(line.slice(9, 12))), line).toBe(true);
          }
          if (a.status >= 400) {
            const code = (a.json as { error?: { code?: string } } | undefined)?.error?.code;
            expect(code !== undefined && Object.hasOwn(ERRORS, code), a.raw.slice(0, 200)).toBe(true);
          }
        }),
        { numRuns: 200, seed: 1448 },
      );
      await new Promise((r) => setTimeout(r, 50));
      expect(warnings.filter((w) => w.includes('MaxListeners'))).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  }, 120_000);
});
