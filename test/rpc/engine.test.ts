/**
 * The link server over the real engine (inject, no socket): round trips, and that refused input leaves the
 * ledger byte-identical.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ERRORS } from '../../device/errors.js';
import { build, type RpcServer } from '../../rpc/server.js';
import { makePair, type Pair, ScriptedConfirmer } from '../helpers/engine-fixture.js';
import { stateHash } from '../helpers/ledger-snapshot.js';

const LINK = { link: { address: '127.0.0.1', peer: '127.0.0.1' } };

let pair: Pair;
let alice: RpcServer;
let bob: RpcServer;
let aliceConfirm: ScriptedConfirmer;
let bobConfirm: ScriptedConfirmer;

beforeEach(() => {
  pair = makePair(4096);
  aliceConfirm = new ScriptedConfirmer('approved');
  bobConfirm = new ScriptedConfirmer('approved');
  alice = build({ engine: pair.openA({ confirmer: aliceConfirm }, LINK), config: pair.configA(LINK) });
  bob = build({ engine: pair.openB({ confirmer: bobConfirm }, LINK), config: pair.configB(LINK) });
});

afterEach(async () => {
  await alice.close();
  await bob.close();
  pair.cleanup();
});

async function call(app: RpcServer, url: string, body: unknown) {
  const res = await app.inject({
    authority: '127.0.0.1:4747',
    method: 'POST',
    url,
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify(body),
  });
  return { status: res.statusCode, body: res.json() as Record<string, unknown> & { error?: { code: string } } };
}

async function packageFor(app: RpcServer, contact: string, text: string): Promise<string> {
  const r = await call(app, '/package', { contact, text });
  expect(r.status).toBe(200);
  return r.body.package as string;
}

function flip(b64: string, bit: number): string {
  const b = Buffer.from(b64, 'base64');
  b[bit >> 3] = (b[bit >> 3] as number) ^ (1 << (bit & 7));
  return b.toString('base64');
}

describe('round trip through two servers', () => {
  it('alice packages, bob unpackages: same text, contact, pad accounting', async () => {
    const pkg = await packageFor(alice, 'bob', 'meet at noon ✓');
    expect(aliceConfirm.asked).toHaveLength(1);
    const r = await call(bob, '/unpackage', { package: pkg });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      contact: 'alice',
      text: 'meet at noon ✓',
      bytes: null,
      gaps: [],
      late: false,
      insecure: true,
    });
    expect(r.body.padId).toBe(pair.padId);
  });

  it('bytes that are not UTF-8 come back as base64', async () => {
    const bytes = Buffer.from([0xff, 0x00, 0xfe, 0x80]).toString('base64');
    const p = await call(alice, '/package', { contact: 'bob', bytes });
    const r = await call(bob, '/unpackage', { package: p.body.package });
    expect(r.body).toMatchObject({ text: null, bytes, length: 4 });
  });

  it('a skipped message shows as a gap, and arrives late afterwards', async () => {
    const first = await packageFor(alice, 'bob', 'one');
    const second = await packageFor(alice, 'bob', 'two');
    const r2 = await call(bob, '/unpackage', { package: second });
    expect(r2.body.text).toBe('two');
    // v2: the gap is the skipped message's key stream, in A's stream area (10 key slots of 32 bytes first).
    expect(r2.body.gaps).toEqual([{ start: 320, end: 320 + 3 }]);
    const r1 = await call(bob, '/unpackage', { package: first });
    expect(r1.body).toMatchObject({ text: 'one', late: true, gaps: [] });
  });
});

describe('refusals with the real engine leave the ledger unchanged', () => {
  it('REPLAY, REFLECTION, MALFORMED, MAC_INVALID, UNKNOWN_PAD, UNSUPPORTED_VERSION', async () => {
    const pkg = await packageFor(alice, 'bob', 'hello bob');
    expect((await call(bob, '/unpackage', { package: pkg })).status).toBe(200);
    const bobState = stateHash(pair.dirB);
    const aliceState = stateHash(pair.dirA);

    const expectCode = async (app: RpcServer, p: string, code: string) => {
      const r = await call(app, '/unpackage', { package: p });
      expect(r.body.error?.code).toBe(code);
      expect(r.status).toBe(ERRORS[code as keyof typeof ERRORS].status);
    };
    await expectCode(bob, pkg, 'REPLAY');
    await expectCode(alice, pkg, 'REFLECTION');
    const raw = Buffer.from(pkg, 'base64');
    await expectCode(bob, raw.subarray(0, raw.length - 1).toString('base64'), 'MALFORMED');
    await expectCode(bob, raw.subarray(0, 20).toString('base64'), 'MALFORMED');
    await expectCode(bob, Buffer.concat([raw, Buffer.from([0])]).toString('base64'), 'MALFORMED');

    const fresh = await packageFor(alice, 'bob', 'second message');
    const aliceAfterSend = stateHash(pair.dirA);
    expect(aliceAfterSend).not.toBe(aliceState);
    // A flipped bit in the ciphertext or the tag: MAC_INVALID.
    const len = Buffer.from(fresh, 'base64').length;
    for (const bit of [34 * 8, 34 * 8 + 3, (len - 1) * 8 + 7, (len - 16) * 8])
      await expectCode(bob, flip(fresh, bit), 'MAC_INVALID');
    await expectCode(bob, flip(fresh, 0), 'UNSUPPORTED_VERSION');
    await expectCode(bob, flip(fresh, 2 * 8), 'UNKNOWN_PAD');
    await expectCode(bob, flip(fresh, 1 * 8 + 1), 'MALFORMED');
    expect(stateHash(pair.dirB)).toBe(bobState);
    expect(stateHash(pair.dirA)).toBe(aliceAfterSend);
    // The untouched package still opens: nothing above consumed its segment.
    expect((await call(bob, '/unpackage', { package: fresh })).body.text).toBe('second message');
  });

  it('DENIED and CONFIRM_TIMEOUT use no pad; UNKNOWN_CONTACT and PAD_EXHAUSTED neither', async () => {
    const before = stateHash(pair.dirA);
    aliceConfirm.answer = 'denied';
    let r = await call(alice, '/package', { contact: 'bob', text: 'no' });
    expect([r.status, r.body.error?.code]).toEqual([403, 'DENIED']);
    aliceConfirm.answer = 'timeout';
    r = await call(alice, '/package', { contact: 'bob', text: 'late' });
    expect([r.status, r.body.error?.code]).toEqual([408, 'CONFIRM_TIMEOUT']);
    aliceConfirm.answer = 'approved';
    r = await call(alice, '/package', { contact: 'carol', text: 'hi' });
    expect([r.status, r.body.error?.code]).toEqual([404, 'UNKNOWN_CONTACT']);
    r = await call(alice, '/package', { contact: 'bob', bytes: Buffer.alloc(3000).toString('base64') });
    expect([r.status, r.body.error?.code]).toEqual([409, 'PAD_EXHAUSTED']);
    expect(stateHash(pair.dirA)).toBe(before);
  });
});
