/**
 * An abuser rotating IPv6 addresses: within its /64 (one source whatever the address) and across the 65,536
 * /64s of its /48 (one site: `perSource.siteFactor` times each per-source limit, in all). A /48 is what one
 * customer is given, so without the site an abuser holding one would have 65,536 sources' shares: every name at
 * once, any recipient's whole queue from ten /64s, the whole store from fifty. Another site is unaffected.
 * Connections by fake sockets (limitConnectionsPerSource); the rest through inject with the source address set;
 * then on real sockets across two network namespaces, the abuser's holding a local route for its whole /48 so it
 * can take any address of it (test/client/rotation-child.ts).
 */
import { execFileSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { newRelayToken } from '../../client/relay-client.js';
import { limitConnectionsPerSource, sourceKeys } from '../../client/relay-sources.js';
import { RelayStore } from '../../client/relay-store.js';
import {
  addNamespaces,
  canUseNetns,
  deleteNamespaces,
  ip,
  removeLeftoverNamespaces,
  spawnInNs,
} from '../helpers/netns.js';
import { auth, makeRelay, pkg, type TestRelay, tokens } from './helpers.js';

let relay: TestRelay;
afterEach(async () => {
  await relay?.close();
});

/** The i-th /64 of the abuser's /48 2001:db8:77::/48, with a random-looking interface id. */
const rotated = (i: number, host = i * 7919 + 1) =>
  `2001:db8:77:${(i % 65536).toString(16)}:${(host % 65536).toString(16)}:1:2:${((host >> 3) % 65536).toString(16)}`;

const codeOf = (r: { json(): unknown }) => {
  const e = (r.json() as { error?: { code: string; details: { scope?: string } } }).error;
  return e ? `${e.code}${e.details.scope ? `:${e.details.scope}` : ''}` : 'ok';
};

function send(from: string, to: string, remoteAddress: string, token: string, size = 50) {
  return relay.app.inject({
    method: 'POST',
    url: '/messages',
    headers: auth(token),
    remoteAddress,
    payload: { from, to, package: pkg(size) },
  });
}

function tally(codes: string[]): Record<string, number> {
  const t: Record<string, number> = {};
  for (const c of codes) t[c] = (t[c] ?? 0) + 1;
  return t;
}

describe('source keys', () => {
  it('an IPv6 address counts by its /64 and its /48 site, in any spelling; IPv4 (mapped too) has no site', () => {
    expect(sourceKeys('2001:db8:77:5:1:2:3:4')).toEqual({ source: '2001:db8:77:5::/64', site: '2001:db8:77::/48' });
    expect(sourceKeys('2001:0DB8:0077:0005::9')).toEqual(sourceKeys('2001:db8:77:5:ffff::1'));
    expect(sourceKeys('2001:db8:77:6::1').site).toBe(sourceKeys('2001:db8:77:ffff::1').site);
    expect(sourceKeys('2001:db8:78::1').site).not.toBe(sourceKeys('2001:db8:77::1').site);
    expect(sourceKeys('fe80::1%eth0')).toEqual({ source: 'fe80:0:0:0::/64', site: 'fe80:0:0::/48' });
    expect(sourceKeys('10.1.2.3')).toEqual({ source: '10.1.2.3' });
    expect(sourceKeys('::ffff:10.1.2.3')).toEqual({ source: '10.1.2.3' });
  });
});

describe('an abuser rotating through the /64s of its /48', () => {
  it('registers at most siteFactor x names.burst names; another site registers as usual', async () => {
    relay = makeRelay({ perSource: { names: { burst: 5, perHour: 10 }, siteFactor: 4 } });
    const codes: string[] = [];
    for (let i = 0; i < 100; i++) {
      for (let j = 0; j < 5; j++) codes.push(codeOf(await send(`m${i}x${j}`, 'bob', rotated(i, j), newRelayToken())));
    }
    const t = tally(codes);
    expect(t.ok).toBe(20);
    expect(t['RELAY_RATE_LIMITED:site-names']).toBe(480);
    // Another site, and an IPv4 source, are unaffected.
    expect(codeOf(await send('alice', 'bob', '2001:db8:99:1::1', tokens.alice))).toBe('ok');
    expect(codeOf(await send('carol', 'bob', '10.1.1.1', tokens.carol))).toBe('ok');
  });

  it("holds at most siteFactor x its share of one recipient's queue; others still reach the recipient", async () => {
    relay = makeRelay({
      maxWaitingPerRecipient: 1000,
      rate: { burst: 100000, perMinute: 1000000 },
      perSource: {
        maxWaitingPerRecipient: 100,
        siteFactor: 4,
        names: { burst: 100, perHour: 100 },
        sends: { burst: 1000, perMinute: 1000 },
      },
    });
    // One name, sent from 10 /64s: 10 x 100 would be the whole queue.
    const codes: string[] = [];
    for (let i = 0; i < 10; i++) {
      for (let j = 0; j < 110; j++) codes.push(codeOf(await send('mallory', 'bob', rotated(i, j), tokens.mallory)));
    }
    const t = tally(codes);
    expect(t.ok).toBe(400);
    expect(relay.store.count('bob')).toBe(400);
    // Each of the first four /64s is held to its own 100, the other six to nothing: the site's 400 are taken.
    expect(t['RELAY_FULL:source-recipient']).toBe(40);
    expect(t['RELAY_FULL:site-recipient']).toBe(660);
    expect(codeOf(await send('alice', 'bob', '2001:db8:99:1::1', tokens.alice))).toBe('ok');
  }, 60_000);

  it('sends, bytes and everything waiting: the site is held in all', async () => {
    relay = makeRelay({
      maxPackageBytes: 2000,
      rate: { burst: 1000, perMinute: 1000 },
      perSource: {
        siteFactor: 2,
        sends: { burst: 10, perMinute: 60 },
        bytes: { burst: 2000, perMinute: 2000 },
        maxWaiting: 3,
        names: { burst: 100, perHour: 100 },
      },
    });
    // Sends: 20 in all for the site (2 x 10), whichever /64 they come from.
    const sends: string[] = [];
    for (let i = 0; i < 30; i++) sends.push(codeOf(await send('mallory', `r${i}`, rotated(i), tokens.mallory, 10)));
    expect(sends.filter((c) => c !== 'ok' && !c.startsWith('RELAY_FULL'))).toEqual(
      Array(10).fill('RELAY_RATE_LIMITED:site'),
    );
    // Waiting in all: at most 2 x 3 from the site (each /64 stored at most 3 of them).
    expect(sends.filter((c) => c === 'ok')).toHaveLength(6);
    expect(sends.filter((c) => c === 'RELAY_FULL:site')).toHaveLength(14);
    // Bytes: a fresh relay, a site spending 2 x 2000 bytes from many /64s.
    await relay.close();
    relay = makeRelay({
      maxPackageBytes: 2000,
      perSource: { siteFactor: 2, bytes: { burst: 2000, perMinute: 1 }, names: { burst: 100, perHour: 100 } },
    });
    const bytes: string[] = [];
    for (let i = 0; i < 6; i++) bytes.push(codeOf(await send('mallory', `q${i}`, rotated(i), tokens.mallory, 1500)));
    expect(bytes).toEqual(['ok', 'ok', ...Array(4).fill('RELAY_RATE_LIMITED:site-bytes')]);
    expect(codeOf(await send('alice', 'bob', '2001:db8:99:1::1', tokens.alice, 1500))).toBe('ok');
  });

  it('within one /64 every address is the same source', async () => {
    relay = makeRelay({ perSource: { names: { burst: 2, perHour: 1 }, siteFactor: 4 } });
    const codes: string[] = [];
    for (let j = 0; j < 6; j++) codes.push(codeOf(await send(`w${j}`, 'bob', rotated(0, j * 1009), newRelayToken())));
    expect(codes).toEqual(['ok', 'ok', ...Array(4).fill('RELAY_RATE_LIMITED:names')]);
  });
});

describe('connections from one site', () => {
  class FakeSocket extends EventEmitter {
    destroyed = false;
    constructor(readonly remoteAddress: string) {
      super();
    }
    destroy() {
      if (this.destroyed) return;
      this.destroyed = true;
      this.emit('close');
    }
  }

  it('at most maxConnections per /64 and siteMax per /48, whatever addresses; closing frees the place', () => {
    const server = new EventEmitter();
    const counts = limitConnectionsPerSource(server as never, 8, 32);
    const sockets: FakeSocket[] = [];
    for (let i = 0; i < 64; i++) {
      for (let j = 0; j < 10; j++) {
        const s = new FakeSocket(rotated(i, j));
        sockets.push(s);
        server.emit('connection', s as unknown as Socket);
      }
    }
    const alive = sockets.filter((s) => !s.destroyed);
    expect(alive).toHaveLength(32);
    expect(counts.sitePeak()).toBe(32);
    expect(counts.peak()).toBe(8);
    // Another site and an IPv4 source get in.
    const other = new FakeSocket('2001:db8:99::1');
    const four = new FakeSocket('10.0.0.1');
    server.emit('connection', other as unknown as Socket);
    server.emit('connection', four as unknown as Socket);
    expect(other.destroyed || four.destroyed).toBe(false);
    // One closes: one more from the site fits, then no more.
    alive[0]?.destroy();
    const next = new FakeSocket(rotated(1000));
    const after = new FakeSocket(rotated(1001));
    server.emit('connection', next as unknown as Socket);
    server.emit('connection', after as unknown as Socket);
    expect([next.destroyed, after.destroyed]).toEqual([false, true]);
  });
});

describe('store schema 2 → 3', () => {
  it('adds site tags; messages of a version 2 file count against no site', () => {
    const dir = mkdtempSync(join(tmpdir(), 'onepad-relay-v2-'));
    const file = join(dir, 'relay.db');
    const db = new Database(file);
    db.exec(`CREATE TABLE messages (ref INTEGER PRIMARY KEY AUTOINCREMENT, sender TEXT NOT NULL, recipient TEXT NOT NULL,
      size INTEGER NOT NULL, time INTEGER NOT NULL, package BLOB NOT NULL, source BLOB);
      CREATE TABLE names (name TEXT PRIMARY KEY, token_hash BLOB NOT NULL, registered INTEGER NOT NULL);`);
    const ins = db.prepare(
      'INSERT INTO messages (sender, recipient, size, time, package, source) VALUES (?,?,?,?,?,?)',
    );
    for (let i = 0; i < 3; i++) ins.run('m', 'bob', 1, 1000 + i, Buffer.from([i]), Buffer.alloc(16, 1));
    db.pragma('user_version = 2');
    db.close();
    const store = RelayStore.open(file, { maxWaitingPerRecipient: 100, maxWaitingTotal: 100, maxNames: 10 });
    try {
      expect(store.fetch('bob', 0, 10, 0)).toHaveLength(3);
      const share = { maxWaiting: 1, maxWaitingBytes: 100, maxWaitingPerRecipient: 1 };
      const quota = (n: number) => ({
        tag: new Uint8Array(16).fill(n),
        ...share,
        site: { tag: new Uint8Array(16).fill(9), ...share },
      });
      expect(store.insert('m', 'bob', Uint8Array.of(7), 2000, quota(2))).toBe(4);
      // Another source of the same site: the site's share (1) is taken.
      expect(() => store.insert('m', 'bob', Uint8Array.of(7), 2000, quota(3))).toThrow(
        expect.objectContaining({ code: 'RELAY_FULL', details: expect.objectContaining({ scope: 'site' }) }),
      );
    } finally {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const PREFIX = 'onepad-rot';
const tag = `${PREFIX}${process.pid}`;

describe.skipIf(!canUseNetns)('an abuser taking any address of its /48, across network namespaces', () => {
  const relayNs = `${tag}-r`;
  const abuserNs = `${tag}-a`;
  const veth = `rot${process.pid % 100000}`;
  beforeAll(() => {
    removeLeftoverNamespaces(PREFIX);
    addNamespaces(relayNs, abuserNs);
    ip('link', 'add', `${veth}r`, 'netns', relayNs, 'type', 'veth', 'peer', 'name', `${veth}a`, 'netns', abuserNs);
    ip('-n', relayNs, '-6', 'addr', 'add', '2001:db8:1::1/64', 'dev', `${veth}r`, 'nodad');
    ip('-n', abuserNs, '-6', 'addr', 'add', '2001:db8:1::2/64', 'dev', `${veth}a`, 'nodad');
    ip('-n', relayNs, 'link', 'set', `${veth}r`, 'up');
    ip('-n', abuserNs, 'link', 'set', `${veth}a`, 'up');
    // Binding an address that is only routed locally (not configured) is allowed in this namespace only.
    execFileSync('ip', ['netns', 'exec', abuserNs, 'sysctl', '-q', '-w', 'net.ipv6.ip_nonlocal_bind=1']);
    for (const site of ['2001:db8:77::/48', '2001:db8:99::/48']) {
      // Any address of the site is the abuser's own (AnyIP), and the relay routes the site back to it.
      ip('-n', abuserNs, '-6', 'route', 'add', 'local', site, 'dev', 'lo');
      ip('-n', relayNs, '-6', 'route', 'add', site, 'via', '2001:db8:1::2');
    }
  });
  afterAll(() => {
    deleteNamespaces(relayNs, abuserNs);
  });

  it('names and connections from 40 /64s of one site are held to the site; another site registers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'onepad-relay-rot-'));
    const cfg = {
      address: '2001:db8:1::1',
      port: 4848,
      dbPath: join(dir, 'r.db'),
      logLevel: 'silent',
      headersTimeoutMs: 30_000,
      requestTimeoutMs: 30_000,
      perSource: { maxConnections: 8, names: { burst: 5, perHour: 10 }, siteFactor: 4 },
    };
    writeFileSync(join(dir, 'cfg.json'), JSON.stringify(cfg));
    const relay = spawnInNs(relayNs, 'bench/relay-load.ts', ['relay', JSON.stringify(cfg)], 90_000);
    try {
      const until = Date.now() + 30_000;
      while (!relay.output().includes('ready')) {
        if (Date.now() > until) throw new Error('relay did not start');
        await new Promise((r) => setTimeout(r, 50));
      }
      const abuser = spawnInNs(abuserNs, 'test/client/rotation-child.ts', [
        JSON.stringify({ url: 'http://[2001:db8:1::1]:4848', site: '2001:db8:77', other: '2001:db8:99', prefixes: 40 }),
      ]);
      const out = await abuser.done;
      expect(out.code, out.stderr).toBe(0);
      const r = JSON.parse(out.stdout.trim().split('\n').pop() as string) as {
        names: Record<string, number>;
        open: number;
        honest: string;
      };
      relay.child.kill('SIGTERM');
      const end = await relay.done;
      const stats = JSON.parse(end.stdout.trim().split('\n').pop() as string) as {
        peakConnectionsPerSource: number;
        peakConnectionsPerSite: number;
      };
      // 40 /64s x 3 new names: the site's 4 x 5 registered, the rest refused for the site.
      expect(r.names).toEqual({ ok: 20, 'RELAY_RATE_LIMITED:site-names': 100 });
      // 40 slow connections from 40 /64s: the site's 4 x 8 held, the rest closed at once.
      expect(r.open).toBe(32);
      expect(stats.peakConnectionsPerSite).toBe(32);
      expect(stats.peakConnectionsPerSource).toBeLessThanOrEqual(8);
      expect(r.honest).toBe('ok');
    } finally {
      relay.child.kill('SIGTERM');
      await relay.done;
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
