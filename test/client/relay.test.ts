/**
 * The relay's API through inject(): send, fetch after a ref, ack; tokens; limits; expiry with an injected
 * clock; restart without loss.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RateLimiter } from '../../client/rate-limit.js';
import { parseRelayConfig } from '../../client/relay-config.js';
import { auth, makeRelay, pkg, type TestRelay, tokens } from './helpers.js';

let relay: TestRelay;
afterEach(async () => {
  await relay.close();
});

async function send(from: keyof typeof tokens, to: string, p = pkg(50), token = tokens[from]) {
  return relay.app.inject({
    method: 'POST',
    url: '/messages',
    headers: auth(token),
    payload: { from, to, package: p },
  });
}

async function fetchFor(to: keyof typeof tokens, after = 0, token = tokens[to], limit?: number) {
  return relay.app.inject({
    method: 'GET',
    url: `/messages?to=${to}&after=${after}${limit ? `&limit=${limit}` : ''}`,
    headers: auth(token),
  });
}

async function ack(to: keyof typeof tokens, refs: number[], token = tokens[to]) {
  return relay.app.inject({ method: 'POST', url: '/ack', headers: auth(token), payload: { to, refs } });
}

describe('relay API', () => {
  beforeEach(() => {
    relay = makeRelay();
  });

  it('stores, fetches after a ref, and deletes on ack', async () => {
    const r1 = await send('alice', 'bob', pkg(40, 1));
    const r2 = await send('carol', 'bob', pkg(41, 2));
    expect(r1.statusCode).toBe(200);
    const ref1 = r1.json().ref as number;
    const ref2 = r2.json().ref as number;
    expect(ref2).toBeGreaterThan(ref1);
    expect(r1.json().time).toBe(relay.clock.now);

    const all = await fetchFor('bob');
    expect(all.statusCode).toBe(200);
    expect(all.json()).toEqual({
      messages: [
        { ref: ref1, from: 'alice', package: pkg(40, 1), time: relay.clock.now },
        { ref: ref2, from: 'carol', package: pkg(41, 2), time: relay.clock.now },
      ],
      more: false,
    });
    const after = await fetchFor('bob', ref1);
    expect(after.json().messages.map((m: { ref: number }) => m.ref)).toEqual([ref2]);
    const limited = await fetchFor('bob', 0, tokens.bob, 1);
    expect(limited.json().more).toBe(true);
    expect(limited.json().messages).toHaveLength(1);

    expect((await ack('bob', [ref1, ref2, 999])).json()).toEqual({ deleted: 2 });
    expect((await fetchFor('bob')).json().messages).toEqual([]);
  });

  it('refs keep growing after the newest message was deleted', async () => {
    const a = (await send('alice', 'bob')).json().ref as number;
    await ack('bob', [a]);
    const b = (await send('alice', 'bob')).json().ref as number;
    expect(b).toBeGreaterThan(a);
    await relay.restart();
    await ack('bob', [b]);
    const c = (await send('alice', 'bob')).json().ref as number;
    expect(c).toBeGreaterThan(b);
  });

  it('stores only sender, recipient, size, time and the package', async () => {
    await send('alice', 'bob', pkg(33));
    const [m] = relay.store.fetch('bob', 0, 10, 0);
    expect(Object.keys(m ?? {}).sort()).toEqual(['from', 'package', 'ref', 'size', 'time', 'to']);
    expect(m?.size).toBe(33);
  });

  it('a name is registered on first use; a stranger can neither fetch, ack, nor send as it (RELAY_UNAUTHORIZED)', async () => {
    const ref = (await send('alice', 'bob')).json().ref as number;
    expect((await fetchFor('bob')).statusCode).toBe(200); // bob registers
    const steal = await fetchFor('bob', 0, tokens.mallory);
    expect(steal.statusCode).toBe(401);
    expect(steal.json().error.code).toBe('RELAY_UNAUTHORIZED');
    const del = await ack('bob', [ref], tokens.mallory);
    expect(del.json().error.code).toBe('RELAY_UNAUTHORIZED');
    const spoof = await send('alice', 'bob', pkg(10), tokens.mallory);
    expect(spoof.json().error.code).toBe('RELAY_UNAUTHORIZED');
    const none = await relay.app.inject({ method: 'GET', url: '/messages?to=bob&after=0' });
    expect(none.statusCode).toBe(401);
    expect(none.json().error.details.reason).toBe('no token');
    const malformed = await relay.app.inject({
      method: 'GET',
      url: '/messages?to=bob',
      headers: { authorization: 'Bearer short' },
    });
    expect(malformed.json().error.code).toBe('RELAY_UNAUTHORIZED');
    expect(relay.store.count('bob')).toBe(1);
    // Tokens survive a restart (only their hashes are stored).
    await relay.restart();
    expect((await fetchFor('bob', 0, tokens.mallory)).statusCode).toBe(401);
    expect((await ack('bob', [ref])).json()).toEqual({ deleted: 1 });
  });

  it('names with spaces and @ travel through the query string', async () => {
    expect((await send('alice', 'ann lee@home')).statusCode).toBe(200);
    const q = new URLSearchParams({ to: 'ann lee@home', after: '0' });
    const r = await relay.app.inject({ method: 'GET', url: `/messages?${q}`, headers: auth(tokens.bob) });
    expect(r.json().messages).toHaveLength(1);
  });

  it('an ack deletes only the acknowledging recipient’s messages', async () => {
    const forBob = (await send('alice', 'bob')).json().ref as number;
    const forCarol = (await send('alice', 'carol')).json().ref as number;
    expect((await ack('carol', [forBob, forCarol])).json()).toEqual({ deleted: 1 });
    expect(relay.store.count('bob')).toBe(1);
  });

  it('answers unknown paths and methods with one fixed 404', async () => {
    const bodies = new Set<string>();
    for (const [method, url] of [
      ['GET', '/'],
      ['DELETE', '/messages'],
      ['PUT', '/ack'],
      ['GET', '/ack'],
      ['POST', '/messages/1'],
      ['GET', '/%zz'],
    ] as const) {
      const r = await relay.app.inject({ method, url });
      expect(r.statusCode).toBe(404);
      bodies.add(r.body);
    }
    expect([...bodies]).toEqual(['{"error":{"code":"NOT_FOUND","message":"not found","details":{}}}']);
  });

  it('refuses other content types, bad JSON and oversize bodies with codes', async () => {
    const text = await relay.app.inject({
      method: 'POST',
      url: '/messages',
      headers: { 'content-type': 'text/plain', ...auth(tokens.alice) },
      payload: 'hello',
    });
    expect(text.statusCode).toBe(415);
    expect(text.json().error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    const bad = await relay.app.inject({
      method: 'POST',
      url: '/messages',
      headers: { 'content-type': 'application/json', ...auth(tokens.alice) },
      payload: '{"from": "alice", ',
    });
    expect(bad.json().error.code).toBe('INVALID_ARGUMENT');
    expect(bad.body).not.toContain('alice');
    const huge = await send('alice', 'bob', pkg(relay.config.maxPackageBytes * 2));
    expect(huge.statusCode).toBe(413);
    expect(huge.json().error.code).toBe('BODY_TOO_LARGE');
  });

  it('refuses a package over maxPackageBytes (RELAY_PACKAGE_TOO_LARGE) and non-canonical base64', async () => {
    const over = await send('alice', 'bob', pkg(relay.config.maxPackageBytes + 1));
    expect(over.statusCode).toBe(413);
    expect(over.json().error).toMatchObject({
      code: 'RELAY_PACKAGE_TOO_LARGE',
      details: { size: relay.config.maxPackageBytes + 1, max: relay.config.maxPackageBytes },
    });
    expect((await send('alice', 'bob', pkg(relay.config.maxPackageBytes))).statusCode).toBe(200);
    const loose = await send('alice', 'bob', 'AB==');
    expect(loose.json().error.code).toBe('INVALID_ARGUMENT');
  });

  it('refuses duplicated query keys, unknown fields and out-of-range refs', async () => {
    const dup = await relay.app.inject({
      method: 'GET',
      url: '/messages?to=bob&to=carol',
      headers: auth(tokens.bob),
    });
    expect(dup.json().error.code).toBe('INVALID_ARGUMENT');
    const extra = await relay.app.inject({ method: 'GET', url: '/messages?to=bob&x=1', headers: auth(tokens.bob) });
    expect(extra.json().error.code).toBe('INVALID_ARGUMENT');
    const big = await relay.app.inject({
      method: 'GET',
      url: '/messages?to=bob&after=9999999999999999',
      headers: auth(tokens.bob),
    });
    expect(big.json().error).toMatchObject({ code: 'INVALID_ARGUMENT', details: { field: 'after' } });
    const negative = await ack('bob', [-1]);
    expect(negative.json().error.code).toBe('INVALID_ARGUMENT');
  });
});

describe('relay limits and expiry', () => {
  it('rate-limits each sender with a token bucket (RELAY_RATE_LIMITED), refilled by the clock', async () => {
    relay = makeRelay({ rate: { burst: 3, perMinute: 6 } });
    for (let i = 0; i < 3; i++) expect((await send('alice', 'bob')).statusCode).toBe(200);
    const limited = await send('alice', 'bob');
    expect(limited.statusCode).toBe(429);
    expect(limited.json().error).toMatchObject({ code: 'RELAY_RATE_LIMITED', details: { retryAfterMs: 10_000 } });
    // Another sender is not affected.
    expect((await send('carol', 'bob')).statusCode).toBe(200);
    relay.clock.now += 9_999;
    expect((await send('alice', 'bob')).statusCode).toBe(429);
    relay.clock.now += 1;
    expect((await send('alice', 'bob')).statusCode).toBe(200);
    expect((await send('alice', 'bob')).statusCode).toBe(429);
  });

  it('refuses sends when a recipient or the whole relay is full (RELAY_FULL), nothing stored', async () => {
    relay = makeRelay({ maxWaitingPerRecipient: 2, maxWaitingTotal: 3, rate: { burst: 100, perMinute: 100 } });
    await send('alice', 'bob');
    await send('alice', 'bob');
    const full = await send('alice', 'bob');
    expect(full.statusCode).toBe(507);
    expect(full.json().error).toMatchObject({ code: 'RELAY_FULL', details: { scope: 'recipient' } });
    await send('alice', 'carol');
    const total = await send('bob', 'carol');
    expect(total.json().error).toMatchObject({ code: 'RELAY_FULL', details: { scope: 'total' } });
    expect(relay.store.count()).toBe(3);
    // An ack makes room again.
    const refs = (await fetchFor('bob')).json().messages.map((m: { ref: number }) => m.ref);
    await ack('bob', refs);
    expect((await send('alice', 'bob')).statusCode).toBe(200);
  });

  it('registers at most maxNames names (RELAY_FULL scope names)', async () => {
    relay = makeRelay({ maxNames: 2 });
    expect((await fetchFor('alice')).statusCode).toBe(200);
    expect((await fetchFor('bob')).statusCode).toBe(200);
    const third = await fetchFor('carol');
    expect(third.json().error).toMatchObject({ code: 'RELAY_FULL', details: { scope: 'names' } });
  });

  it('expires unacknowledged messages after retentionMs: hidden at once, deleted by the sweep', async () => {
    relay = makeRelay({ retentionMs: 60_000 });
    await send('alice', 'bob');
    relay.clock.now += 30_000;
    await send('alice', 'bob');
    relay.clock.now += 30_001;
    expect((await fetchFor('bob')).json().messages).toHaveLength(1);
    expect(relay.store.count()).toBe(2);
    expect(relay.app.sweepNow()).toBe(1);
    expect(relay.store.count()).toBe(1);
  });

  it('the periodic sweep runs on its own', async () => {
    relay = makeRelay({ retentionMs: 1000, sweepIntervalMs: 100 });
    await send('alice', 'bob');
    relay.clock.now += 5000;
    for (let i = 0; i < 50 && relay.store.count() > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(relay.store.count()).toBe(0);
  });

  it('keeps unacknowledged messages across a restart', async () => {
    relay = makeRelay();
    const refs: number[] = [];
    for (let i = 0; i < 5; i++) refs.push((await send('alice', 'bob', pkg(20 + i))).json().ref);
    await ack('bob', [refs[0] as number]);
    await relay.restart();
    const got = (await fetchFor('bob')).json().messages;
    expect(got.map((m: { ref: number }) => m.ref)).toEqual(refs.slice(1));
    expect(got.map((m: { package: string }) => m.package)).toEqual([21, 22, 23, 24].map((n) => pkg(n)));
  });
});

describe('relay config and rate limiter', () => {
  it('refuses a bad config with CONFIG_INVALID naming the field', () => {
    const fieldOf = (raw: unknown) => {
      try {
        parseRelayConfig(raw);
      } catch (e) {
        return `${(e as { code: string }).code} ${(e as { details: { field: string } }).details.field}`;
      }
      return 'accepted';
    };
    expect(fieldOf({})).toBe('CONFIG_INVALID dbPath');
    expect(fieldOf({ dbPath: 'x', rate: { burst: 0 } })).toBe('CONFIG_INVALID rate.burst');
    expect(fieldOf({ dbPath: 'x', port: 70000 })).toBe('CONFIG_INVALID port');
    expect(() => parseRelayConfig({ dbPath: 'x', surprise: 1 })).toThrow(/surprise/);
    const c = parseRelayConfig({ dbPath: 'relay.db' }, '/var/lib');
    expect(c.dbPath).toBe('/var/lib/relay.db');
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('the limiter keeps at most maxKeys buckets', () => {
    const lim = new RateLimiter({ burst: 2, perMinute: 60 }, 10);
    for (let i = 0; i < 100; i++) lim.take(`k${i}`, 0);
    expect(lim.size).toBeLessThanOrEqual(10);
    lim.prune(10_000);
    expect(lim.size).toBe(0);
  });
});
