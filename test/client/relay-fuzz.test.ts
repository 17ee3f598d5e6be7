/**
 * Property tests on the relay's input: random JSON bodies, wrong types, random query strings, random headers
 * and oversize bodies all get a coded error (never INTERNAL, never a 200 that stored something unexpected), and
 * the relay keeps answering correctly afterwards.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newRelayToken } from '../../client/relay-client.js';
import { ERRORS } from '../../device/errors.js';
import { auth, makeRelay, pkg, type TestRelay, tokens } from './helpers.js';

let relay: TestRelay;
beforeAll(() => {
  relay = makeRelay({ rate: { burst: 100000, perMinute: 100000 }, maxPackageBytes: 256 });
});
afterAll(async () => {
  await relay.close();
});

function expectCoded(r: { statusCode: number; json: () => unknown; body: string }) {
  expect(r.statusCode).toBeGreaterThanOrEqual(400);
  expect(r.statusCode).toBeLessThan(500);
  const body = r.json() as { error: { code: keyof typeof ERRORS } };
  expect(Object.hasOwn(ERRORS, body.error.code)).toBe(true);
  expect(ERRORS[body.error.code].status).toBe(r.statusCode);
}

const name = fc.constantFrom('alice', 'bob', 'carol', '', ' bad', 'x'.repeat(65), 'ok.name');
const anyJson = fc.jsonValue({ maxDepth: 3 });
const field = fc.oneof(anyJson, name, fc.string(), fc.integer(), fc.constant(pkg(10)));

describe('relay input properties', () => {
  it('random POST /messages and /ack bodies: coded 4xx unless exactly valid', async () => {
    const before = relay.store.count();
    let stored = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/messages', '/ack'),
        fc.oneof(
          anyJson,
          fc.record({ from: field, to: field, package: field }, { requiredKeys: [] }),
          fc.record({ to: field, refs: fc.oneof(fc.array(fc.oneof(fc.integer(), fc.double(), anyJson)), field) }),
        ),
        async (url, body) => {
          const r = await relay.app.inject({
            method: 'POST',
            url,
            headers: { 'content-type': 'application/json', ...auth(tokens.alice) },
            payload: JSON.stringify(body),
          });
          if (r.statusCode === 200) {
            if (url === '/messages') stored++;
            return;
          }
          expectCoded(r);
        },
      ),
      { numRuns: 400 },
    );
    // Only well-formed sends from alice with alice's token were stored.
    expect(relay.store.count()).toBeLessThanOrEqual(before + stored);
  });

  it('random query strings on GET /messages: coded 4xx unless valid', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 80 }), async (q) => {
        const r = await relay.app.inject({
          method: 'GET',
          url: `/messages?${encodeURI(q)}`,
          headers: auth(tokens.bob),
        });
        if (r.statusCode !== 200) expectCoded(r);
      }),
      { numRuns: 300 },
    );
  });

  it('random bytes as a JSON body, random content types and authorization headers', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 2000 }),
        fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', 'application/jsonx'),
        fc.oneof(fc.string({ maxLength: 60 }), fc.constant(`Bearer ${tokens.alice}`)),
        async (bytes, type, authorization) => {
          const r = await relay.app.inject({
            method: 'POST',
            url: '/messages',
            headers: { 'content-type': type, authorization },
            payload: Buffer.from(bytes),
          });
          expectCoded(r);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('still serves a valid exchange afterwards', async () => {
    // A name the generators never use, so no random request registered it first.
    const dave = newRelayToken();
    const sent = await relay.app.inject({
      method: 'POST',
      url: '/messages',
      headers: auth(dave),
      payload: { from: 'dave', to: 'dave', package: pkg(99) },
    });
    expect(sent.statusCode).toBe(200);
    const got = await relay.app.inject({ method: 'GET', url: '/messages?to=dave', headers: auth(dave) });
    expect(got.json().messages.at(-1).package).toBe(pkg(99));
  });
});
