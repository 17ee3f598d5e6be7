/**
 * Slow clients against the relay on real sockets (loopback, each client with its own 127.0.0.x): one source
 * opening many connections that trickle their headers a byte at a time, just often enough never to be idle, or
 * send their headers and then trickle the body. Trickling buys nothing: the header and request timeouts count
 * from the start of the request, so every connection is answered REQUEST_TIMEOUT and closed on time; the source
 * never holds more than its share of connections; two honest users beside it are served all along.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runHonest } from '../../bench/relay-load.js';
import { parseRelayConfig } from '../../client/relay-config.js';
import { type RelayService, startRelay } from '../../client/relay-service.js';

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
