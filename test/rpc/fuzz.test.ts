/**
 * 10,000+ randomized bad requests against a server over the real engine: every one is answered with a
 * registry code and its status and a well-formed error body, the server stays up, and the ledger does not
 * change. Bob's confirmer denies everything, so no random /package request can spend pad either.
 */
import { Ajv } from 'ajv';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERRORS, type ErrorCode } from '../../device/errors.js';
import { errorResponseSchema } from '../../rpc/protocol.js';
import { build, type RpcServer } from '../../rpc/server.js';
import { makePair, type Pair, ScriptedConfirmer } from '../helpers/engine-fixture.js';
import { stateHash } from '../helpers/ledger-snapshot.js';

const LINK = { link: { address: '127.0.0.1', peer: '127.0.0.1' }, engine: { maxMessageLength: 512 } };
const validError = new Ajv({ strict: true, allowUnionTypes: true }).compile(errorResponseSchema);

let pair: Pair;
let bob: RpcServer;
let valid: Buffer;

beforeAll(async () => {
  pair = makePair(8192);
  const alice = build({ engine: pair.openA({}, LINK), config: pair.configA(LINK) });
  const r = await alice.inject({
    authority: '127.0.0.1:4747',
    method: 'POST',
    url: '/package',
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({ contact: 'bob', text: 'the one valid message' }),
  });
  valid = Buffer.from((r.json() as { package: string }).package, 'base64');
  await alice.close();
  bob = build({ engine: pair.openB({ confirmer: new ScriptedConfirmer('denied') }, LINK), config: pair.configB(LINK) });
});

afterAll(async () => {
  await bob?.close();
  pair?.cleanup();
});

interface Req {
  readonly method: string;
  readonly url: string;
  readonly contentType: string | null;
  readonly payload: string;
}

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');

/** A mutation of the valid package: flipped bits, truncation, extension, a replaced byte. Never the original. */
const mutatedPackage = fc.oneof(
  fc.array(fc.nat({ max: 10_000 }), { minLength: 1, maxLength: 4 }).map((bits) => {
    const b = Buffer.from(valid);
    const seen = new Set(bits.map((x) => x % (b.length * 8)));
    for (const bit of seen) b[bit >> 3] = (b[bit >> 3] as number) ^ (1 << (bit & 7));
    return b;
  }),
  fc.nat({ max: 10_000 }).map((n) => valid.subarray(0, n % valid.length)),
  fc.uint8Array({ minLength: 1, maxLength: 40 }).map((extra) => Buffer.concat([valid, extra])),
  fc.uint8Array({ minLength: 0, maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
);

const jsonish = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.record({ contact: fc.jsonValue({ maxDepth: 1 }), text: fc.jsonValue({ maxDepth: 1 }) }),
  fc.record({ package: fc.jsonValue({ maxDepth: 1 }) }),
  fc.dictionary(
    fc.constantFrom('contact', 'text', 'bytes', 'package', 'x', '__proto__', 'constructor'),
    fc.jsonValue({ maxDepth: 1 }),
  ),
);

const request: fc.Arbitrary<Req> = fc.oneof(
  // Mutated packages, correctly framed: the engine's refusals.
  {
    weight: 6,
    arbitrary: mutatedPackage.map((p) => ({
      method: 'POST',
      url: '/unpackage',
      contentType: 'application/json',
      payload: JSON.stringify({ package: b64(p) }),
    })),
  },
  // Package requests to bob: only ever denied, unknown, or refused by the schema.
  {
    weight: 2,
    arbitrary: fc
      .record({
        contact: fc.oneof(fc.constantFrom('alice', 'carol', ''), fc.string({ maxLength: 70 })),
        text: fc.string({ maxLength: 600 }),
      })
      .map((b) => ({ method: 'POST', url: '/package', contentType: 'application/json', payload: JSON.stringify(b) })),
  },
  // Random JSON of random shapes to either route.
  {
    weight: 3,
    arbitrary: fc
      .tuple(fc.constantFrom('/package', '/unpackage'), jsonish)
      .map(([url, v]) => ({ method: 'POST', url, contentType: 'application/json', payload: JSON.stringify(v) ?? '' })),
  },
  // Random bytes as the body, with random content types.
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        fc.constantFrom('/package', '/unpackage'),
        fc.constantFrom(
          'application/json',
          'text/plain',
          'application/octet-stream',
          null,
          'application/json; charset=latin1',
        ),
        fc.string({ maxLength: 300 }),
      )
      .map(([url, contentType, payload]) => ({ method: 'POST', url, contentType, payload })),
  },
  // Other methods and paths.
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom('GET', 'PUT', 'DELETE', 'PATCH', 'POST', 'OPTIONS'), fc.webPath())
      .map(([method, path]) => ({
        method,
        url: path === '/package' || path === '/unpackage' ? `${path}/x` : path || '/x',
        contentType: 'application/json',
        payload: '{}',
      })),
  },
  // Oversize bodies.
  {
    weight: 1,
    arbitrary: fc.nat({ max: 5000 }).map((n) => ({
      method: 'POST',
      url: '/unpackage',
      contentType: 'application/json',
      payload: JSON.stringify({ package: 'A'.repeat(6 * 512 + 1100 + n) }),
    })),
  },
);

describe('randomized bad requests', () => {
  it('10,000 requests: each gets a registry code with its status, the server stays up, the ledger is unchanged', async () => {
    const before = stateHash(pair.dirB);
    const seen = new Map<ErrorCode, number>();
    let count = 0;
    await fc.assert(
      fc.asyncProperty(request, async (req) => {
        count++;
        const res = await bob.inject({
          authority: '127.0.0.1:4747',
          method: req.method as 'POST',
          url: req.url,
          headers: req.contentType ? { 'content-type': req.contentType } : {},
          ...(req.method === 'GET' || req.method === 'OPTIONS' ? {} : { payload: req.payload }),
        });
        const body = res.json() as { error?: { code: ErrorCode } };
        if (!validError(body)) throw new Error(`not an error body: ${res.statusCode} ${res.body.slice(0, 200)}`);
        const code = body.error?.code as ErrorCode;
        expect(Object.hasOwn(ERRORS, code)).toBe(true);
        expect(res.statusCode).toBe(ERRORS[code].status);
        expect(code).not.toBe('INTERNAL');
        seen.set(code, (seen.get(code) ?? 0) + 1);
      }),
      { numRuns: 10_000, seed: 20261122, endOnFailure: true },
    );
    expect(count).toBeGreaterThanOrEqual(10_000);
    // The mix really exercised the refusals it is meant to.
    for (const code of [
      'MAC_INVALID',
      'MALFORMED',
      'INVALID_ARGUMENT',
      'NOT_FOUND',
      'UNSUPPORTED_MEDIA_TYPE',
      'BODY_TOO_LARGE',
      'DENIED',
      'UNKNOWN_CONTACT',
    ] as const) {
      expect(seen.get(code) ?? 0, code).toBeGreaterThan(0);
    }
    expect(stateHash(pair.dirB)).toBe(before);
    // Still up, and the valid package still opens.
    const ok = await bob.inject({
      authority: '127.0.0.1:4747',
      method: 'POST',
      url: '/unpackage',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ package: b64(valid) }),
    });
    expect(ok.statusCode).toBe(200);
    expect((ok.json() as { text: string }).text).toBe('the one valid message');
  });
});
