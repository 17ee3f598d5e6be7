/**
 * The relay under abuse from one source address: each per-source limit through inject (new names, sends, bytes,
 * its share of what waits, in all and for one recipient; other sources unaffected), then a bounded load on real
 * sockets, on loopback (each client with a source address of its own) and across network namespaces: one abusive
 * source (slowloris, a name flood, a queue flood against one user) and several honest users. The honest ones keep
 * being served; the abuser is held to its share. Figures: bench/relay-abuse.ts.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type AbuserResult, type HonestResult, runAbuser, runHonest } from '../../bench/relay-load.js';
import { newRelayToken } from '../../client/relay-client.js';
import { parseRelayConfig } from '../../client/relay-config.js';
import { type RelayService, startRelay } from '../../client/relay-service.js';
import { sourceKey } from '../../client/relay-sources.js';
import { RelayStore } from '../../client/relay-store.js';
import {
  addNamespaces,
  canUseNetns,
  deleteNamespaces,
  ip,
  removeLeftoverNamespaces,
  spawnInNs,
} from '../helpers/netns.js';
import { rawRequest } from '../helpers/raw-http.js';
import { auth, makeRelay, pkg, type TestRelay, tokens } from './helpers.js';

let relay: TestRelay;
afterEach(async () => {
  await relay?.close();
});

function send(from: string, to: string, remoteAddress: string, token: string, size = 50) {
  return relay.app.inject({
    method: 'POST',
    url: '/messages',
    headers: auth(token),
    remoteAddress,
    payload: { from, to, package: pkg(size) },
  });
}

const codeOf = (r: { json(): unknown }) => {
  const e = (r.json() as { error?: { code: string; details: { scope?: string } } }).error;
  return e ? `${e.code}${e.details.scope ? `:${e.details.scope}` : ''}` : 'ok';
};

describe('per-source limits', () => {
  it('new names: a burst per source, refilled per hour; other sources register as usual', async () => {
    relay = makeRelay({ perSource: { names: { burst: 3, perHour: 6 } } });
    const codes: string[] = [];
    for (let i = 0; i < 6; i++) codes.push(codeOf(await send(`m${i}`, 'bob', '10.9.9.9', newRelayToken())));
    expect(codes).toEqual([
      'ok',
      'ok',
      'ok',
      'RELAY_RATE_LIMITED:names',
      'RELAY_RATE_LIMITED:names',
      'RELAY_RATE_LIMITED:names',
    ]);
    // A name it already has keeps working; another source registers at once.
    expect(codeOf(await send('alice', 'bob', '10.1.1.1', tokens.alice))).toBe('ok');
    // Ten minutes refill one name (6 per hour).
    relay.clock.now += 10 * 60_000;
    expect(codeOf(await send('m10', 'bob', '10.9.9.9', newRelayToken()))).toBe('ok');
    expect(codeOf(await send('m11', 'bob', '10.9.9.9', newRelayToken()))).toBe('RELAY_RATE_LIMITED:names');
    // Fetching with a fresh name registers it too: the same bucket.
    const f = await relay.app.inject({
      method: 'GET',
      url: '/messages?to=m12',
      headers: auth(newRelayToken()),
      remoteAddress: '10.9.9.9',
    });
    expect(codeOf(f)).toBe('RELAY_RATE_LIMITED:names');
  });

  it('an IPv6 source is counted by its /64', async () => {
    relay = makeRelay({ perSource: { names: { burst: 2, perHour: 1 } } });
    expect(sourceKey('2001:db8:1:2::5')).toBe(sourceKey('2001:db8:1:2:ffff:1:2:3'));
    expect(codeOf(await send('a1', 'bob', '2001:db8:1:2::5', newRelayToken()))).toBe('ok');
    expect(codeOf(await send('a2', 'bob', '2001:db8:1:2::6', newRelayToken()))).toBe('ok');
    expect(codeOf(await send('a3', 'bob', '2001:db8:1:2:abcd::1', newRelayToken()))).toBe('RELAY_RATE_LIMITED:names');
    expect(codeOf(await send('a4', 'bob', '2001:db8:1:3::1', newRelayToken()))).toBe('ok');
  });

  it('sends from one source across many names share one bucket', async () => {
    relay = makeRelay({ perSource: { sends: { burst: 10, perMinute: 60 }, names: { burst: 100, perHour: 100 } } });
    const codes: string[] = [];
    for (let i = 0; i < 20; i++) codes.push(codeOf(await send(`n${i}`, 'bob', '10.9.9.9', newRelayToken())));
    expect(codes.filter((c) => c === 'ok')).toHaveLength(10);
    expect(codes.slice(10)).toEqual(Array(10).fill('RELAY_RATE_LIMITED:source'));
    expect(codeOf(await send('carol', 'bob', '10.2.2.2', tokens.carol))).toBe('ok');
  });

  it('bytes from one source', async () => {
    relay = makeRelay({ maxPackageBytes: 2000, perSource: { bytes: { burst: 5000, perMinute: 1000 } } });
    const codes: string[] = [];
    for (let i = 0; i < 4; i++) codes.push(codeOf(await send('mallory', 'bob', '10.9.9.9', tokens.mallory, 1900)));
    expect(codes).toEqual(['ok', 'ok', 'RELAY_RATE_LIMITED:bytes', 'RELAY_RATE_LIMITED:bytes']);
    // Small ones still fit what is left.
    expect(codeOf(await send('mallory', 'bob', '10.9.9.9', tokens.mallory, 1000))).toBe('ok');
    expect(codeOf(await send('alice', 'bob', '10.1.1.1', tokens.alice, 1900))).toBe('ok');
  });

  it('its share of one recipient, and of everything waiting (messages and bytes)', async () => {
    relay = makeRelay({
      perSource: {
        maxWaitingPerRecipient: 3,
        maxWaiting: 5,
        maxWaitingBytes: 100_000,
        names: { burst: 50, perHour: 50 },
      },
    });
    const codes: string[] = [];
    for (let i = 0; i < 5; i++) codes.push(codeOf(await send(`s${i}`, 'bob', '10.9.9.9', newRelayToken())));
    expect(codes).toEqual(['ok', 'ok', 'ok', 'RELAY_FULL:source-recipient', 'RELAY_FULL:source-recipient']);
    // Others may still write to bob; the abuser may still write to others, up to its total share.
    expect(codeOf(await send('alice', 'bob', '10.1.1.1', tokens.alice))).toBe('ok');
    expect(codeOf(await send('s9', 'carol', '10.9.9.9', newRelayToken()))).toBe('ok');
    expect(codeOf(await send('s9b', 'dave', '10.9.9.9', newRelayToken()))).toBe('ok');
    expect(codeOf(await send('s9c', 'erin', '10.9.9.9', newRelayToken()))).toBe('RELAY_FULL:source');
    // Once bob fetched and acknowledged, its share frees up.
    const got = await relay.app.inject({ method: 'GET', url: '/messages?to=bob', headers: auth(tokens.bob) });
    const refs = (got.json() as { messages: { ref: number }[] }).messages.map((m) => m.ref);
    await relay.app.inject({ method: 'POST', url: '/ack', headers: auth(tokens.bob), payload: { to: 'bob', refs } });
    expect(codeOf(await send('s10', 'bob', '10.9.9.9', newRelayToken()))).toBe('ok');
  });

  it('its share of bytes waiting', async () => {
    relay = makeRelay({ maxPackageBytes: 10_000, perSource: { maxWaitingBytes: 25_000 } });
    const codes: string[] = [];
    for (let i = 0; i < 4; i++) codes.push(codeOf(await send('mallory', `r${i}`, '10.9.9.9', tokens.mallory, 9000)));
    expect(codes).toEqual(['ok', 'ok', 'RELAY_FULL:source-bytes', 'RELAY_FULL:source-bytes']);
  });

  it('the store keeps no address: only a keyed tag, new at each start', async () => {
    relay = makeRelay();
    await send('alice', 'bob', '10.1.1.1', tokens.alice);
    const rows = (relay.store as unknown as { db: { prepare(s: string): { all(): { source: Buffer }[] } } }).db
      .prepare('SELECT source FROM messages')
      .all();
    expect(rows).toHaveLength(1);
    expect(rows[0]?.source.length).toBe(16);
    expect(rows[0]?.source.toString('latin1')).not.toContain('10.1.1.1');
  });
});

describe('slowloris on one connection', () => {
  it('headers that never end are cut off after headersTimeoutMs with REQUEST_TIMEOUT', async () => {
    const fs = await import('node:fs');
    const dir = fs.mkdtempSync(join((await import('node:os')).tmpdir(), 'onepad-relay-slow-'));
    const service = await startRelay({
      config: parseRelayConfig({
        address: '127.0.0.1',
        dbPath: join(dir, 'r.db'),
        logLevel: 'silent',
        headersTimeoutMs: 500,
      }),
      port: 0,
    });
    try {
      const t0 = Date.now();
      const a = await rawRequest(service.port, 'POST /messages HTTP/1.1\r\nHost: relay\r\nX-a: ', {
        end: false,
        timeoutMs: 10_000,
      });
      expect(a.status).toBe(408);
      expect(a.json).toMatchObject({ error: { code: 'REQUEST_TIMEOUT' } });
      expect(Date.now() - t0).toBeLessThan(5000);
    } finally {
      await service.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('store schema 1 → 2', () => {
  it('keeps every message of a version 1 file; they count against no source', async () => {
    const dir = (await import('node:fs')).mkdtempSync(join((await import('node:os')).tmpdir(), 'onepad-relay-v1-'));
    const file = join(dir, 'relay.db');
    const db = new Database(file);
    db.exec(`CREATE TABLE messages (ref INTEGER PRIMARY KEY AUTOINCREMENT, sender TEXT NOT NULL, recipient TEXT NOT NULL,
      size INTEGER NOT NULL, time INTEGER NOT NULL, package BLOB NOT NULL);
      CREATE TABLE names (name TEXT PRIMARY KEY, token_hash BLOB NOT NULL, registered INTEGER NOT NULL);`);
    const ins = db.prepare('INSERT INTO messages (sender, recipient, size, time, package) VALUES (?, ?, ?, ?, ?)');
    for (let i = 0; i < 5; i++) ins.run('mallory', 'bob', 3, 1000 + i, Buffer.from([1, 2, i]));
    db.pragma('user_version = 1');
    db.close();
    const store = RelayStore.open(file, { maxWaitingPerRecipient: 100, maxWaitingTotal: 100, maxNames: 10 });
    try {
      expect(store.fetch('bob', 0, 10, 0).map((m) => [...m.package])).toEqual([0, 1, 2, 3, 4].map((i) => [1, 2, i]));
      const quota = { tag: new Uint8Array(16), maxWaiting: 1, maxWaitingBytes: 100, maxWaitingPerRecipient: 1 };
      expect(store.insert('mallory', 'bob', Uint8Array.of(9), 2000, quota)).toBe(6);
      expect(() => store.insert('mallory', 'bob', Uint8Array.of(9), 2000, quota)).toThrow(/relay holds/);
    } finally {
      store.close();
      (await import('node:fs')).rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** What the honest users and the abuser must show after one bounded run. */
function expectHeld(
  honest: HonestResult[],
  abuser: AbuserResult,
  peakConnections: number,
  limits: { names: number; connections: number },
) {
  const summary = JSON.stringify({
    honest: honest.map((h) => ({ ...h, latenciesMs: h.latenciesMs.length })),
    abuser,
    peakConnections,
  });
  for (const h of honest) {
    const sends = Object.values(h.sends).reduce((a, b) => a + b, 0);
    expect(sends, summary).toBeGreaterThan(0);
    expect(h.sends, h.name).toEqual({ ok: sends });
    expect(Object.keys(h.fetches), h.name).toEqual(['ok']);
    expect(h.received, h.name).toBeGreaterThan(0);
  }
  expect(abuser.names).toBeLessThanOrEqual(limits.names);
  // The relay never held more than its share of connections from the abuser's address (server side count)...
  expect(peakConnections).toBeLessThanOrEqual(limits.connections);
  // ... though it tried many more.
  expect(abuser.slowOpened, summary).toBeGreaterThan(limits.connections * 2);
  const refused = [...Object.entries(abuser.sends), ...Object.entries(abuser.nameAttempts)]
    .filter(([k]) => k.startsWith('RELAY_RATE_LIMITED') || k.startsWith('RELAY_FULL'))
    .reduce((a, [, n]) => a + n, 0);
  expect(refused, summary).toBeGreaterThan(0);
}

const RELAY_LIMITS = {
  maxNames: 200,
  logLevel: 'silent',
  perSource: { maxConnections: 8, names: { burst: 5, perHour: 10 } },
  headersTimeoutMs: 1500,
} as const;

describe('a bounded load on loopback: one abusive source, four honest ones', () => {
  let service: RelayService;
  let dir: string;
  beforeAll(async () => {
    const fs = await import('node:fs');
    dir = fs.mkdtempSync(join((await import('node:os')).tmpdir(), 'onepad-relay-abuse-'));
    service = await startRelay({
      config: parseRelayConfig({ ...RELAY_LIMITS, address: '127.0.0.1', dbPath: join(dir, 'r.db') }),
      port: 0,
    });
  });
  afterAll(async () => {
    await service?.stop();
    (await import('node:fs')).rmSync(dir, { recursive: true, force: true });
  });

  it('the honest users are served throughout; the abuser gets its share and no more', async () => {
    const url = service.url;
    const ring = ['h1', 'h2', 'h3'];
    const [abuser, ...honest] = await Promise.all([
      runAbuser({
        url,
        localAddress: '127.0.0.66',
        victim: 'h1',
        durationMs: 5000,
        slowAfterMs: 2000,
        slowConnections: 64,
        concurrency: 8,
        packageBytes: 60_000,
      }),
      ...ring.map((name, i) =>
        runHonest({
          url,
          localAddress: `127.0.0.${i + 2}`,
          name,
          peer: ring[(i + 1) % 3] as string,
          durationMs: 4000,
          intervalMs: 150,
        }),
      ),
      // A new user who arrives while the abuse is going on still gets a name and a place in h1's queue.
      runHonest({
        url,
        localAddress: '127.0.0.9',
        name: 'late',
        peer: 'h1',
        durationMs: 4000,
        intervalMs: 150,
        delayMs: 1500,
      }),
    ]);
    // The late user gets nothing back (no one writes to it): check its sends only.
    const late = honest.pop() as HonestResult;
    expect(late.sends).toEqual({ ok: Object.values(late.sends).reduce((a, b) => a + b, 0) });
    expectHeld(honest, abuser as AbuserResult, service.server.sourceConnections.peak(), { names: 5, connections: 8 });
    expect(service.store.count('h1')).toBeLessThanOrEqual(100 + 200);
  }, 30_000);
});

const PREFIX = 'onepad-ra';
const tag = `${PREFIX}${process.pid}`;
const K = (process.pid % 150) + 50;
const CLIENTS = ['a', 'h1', 'h2', 'h3'] as const;

describe.skipIf(!canUseNetns)('a bounded load across network namespaces', () => {
  const ns = (c: string) => `${tag}-${c}`;
  const relayNs = ns('r');
  const addr = (i: number, host: 1 | 2) => `10.253.${K}.${i * 4 + host}`;
  beforeAll(() => {
    removeLeftoverNamespaces(PREFIX);
    addNamespaces(relayNs, ...CLIENTS.map(ns));
    CLIENTS.forEach((c, i) => {
      const rIf = `ra${process.pid % 10000}r${i}`;
      const cIf = `ra${process.pid % 10000}c${i}`;
      ip('link', 'add', rIf, 'netns', relayNs, 'type', 'veth', 'peer', 'name', cIf, 'netns', ns(c));
      ip('-n', relayNs, 'addr', 'add', `${addr(i, 1)}/30`, 'dev', rIf);
      ip('-n', ns(c), 'addr', 'add', `${addr(i, 2)}/30`, 'dev', cIf);
      ip('-n', relayNs, 'link', 'set', rIf, 'up');
      ip('-n', ns(c), 'link', 'set', cIf, 'up');
      ip('-n', ns(c), 'route', 'add', 'default', 'via', addr(i, 1));
    });
  });
  afterAll(() => {
    deleteNamespaces(relayNs, ...CLIENTS.map(ns));
  });

  it('the honest namespaces are served throughout; the abusive one gets its share and no more', async () => {
    const dir = (await import('node:fs')).mkdtempSync(join((await import('node:os')).tmpdir(), 'onepad-relay-ns-'));
    const cfg = { ...RELAY_LIMITS, address: addr(0, 1), port: 4848, dbPath: join(dir, 'r.db') };
    writeFileSync(join(dir, 'cfg.json'), JSON.stringify(cfg));
    const relayProc = spawnInNs(relayNs, 'bench/relay-load.ts', ['relay', JSON.stringify(cfg)], 60_000);
    try {
      const until = Date.now() + 20_000;
      while (!relayProc.output().includes('ready')) {
        if (Date.now() > until) throw new Error('relay did not start');
        await new Promise((r) => setTimeout(r, 50));
      }
      const url = `http://${addr(0, 1)}:4848`;
      const ring = ['h1', 'h2', 'h3'];
      // All start together once every process is up (starting node under load takes seconds).
      const goFile = join(dir, 'go');
      const procs = [
        spawnInNs(ns('a'), 'bench/relay-load.ts', [
          'abuser',
          JSON.stringify({
            url,
            victim: 'h1',
            goFile,
            durationMs: 5000,
            slowAfterMs: 2000,
            slowConnections: 64,
            concurrency: 8,
            packageBytes: 60_000,
          }),
        ]),
        ...ring.map((name, i) =>
          spawnInNs(ns(name), 'bench/relay-load.ts', [
            'honest',
            JSON.stringify({ url, name, peer: ring[(i + 1) % 3], goFile, durationMs: 5000, intervalMs: 150 }),
          ]),
        ),
      ];
      const loadedBy = Date.now() + 40_000;
      while (!procs.every((p) => p.output().includes('loaded'))) {
        if (Date.now() > loadedBy) throw new Error('load processes did not start');
        await new Promise((r) => setTimeout(r, 50));
      }
      writeFileSync(goFile, '');
      const results = await Promise.all(procs.map((p) => p.done));
      relayProc.child.kill('SIGTERM');
      const relayEnd = await relayProc.done;
      const stats = JSON.parse(relayEnd.stdout.trim().split('\n').pop() as string) as {
        peakConnectionsPerSource: number;
      };
      const parsed = results.map((r) => {
        expect(r.code, r.stderr).toBe(0);
        return JSON.parse(r.stdout.trim().split('\n').pop() as string) as HonestResult | AbuserResult;
      });
      expectHeld(parsed.slice(1) as HonestResult[], parsed[0] as AbuserResult, stats.peakConnectionsPerSource, {
        names: 5,
        connections: 8,
      });
    } finally {
      relayProc.child.kill('SIGTERM');
      await relayProc.done;
      (await import('node:fs')).rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
