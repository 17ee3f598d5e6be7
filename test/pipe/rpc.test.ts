/**
 * Pipe sessions on the link (inject, no socket): still only package and unpackage; a session opens only through
 * the screen; frames go several per request; what the schema refuses never reaches the engine.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { build, type RpcServer } from '../../rpc/server.js';
import { makePair, type Pair, ScriptedConfirmer } from '../helpers/engine-fixture.js';
import { stateHash } from '../helpers/ledger-snapshot.js';
import { SessionScreen } from './session-helpers.js';

const LINK = { link: { address: '127.0.0.1', peer: '127.0.0.1' } };
const ASK = { budgetBytes: 100_000, timeLimitSec: 60, frameSize: null };

let pair: Pair;
let alice: RpcServer;
let bob: RpcServer;
let screenA: SessionScreen;

beforeEach(() => {
  pair = makePair(1 << 16);
  screenA = new SessionScreen();
  alice = build({ engine: pair.openA({ confirmer: screenA }, LINK), config: pair.configA(LINK) });
  bob = build({ engine: pair.openB({ confirmer: new SessionScreen() }, LINK), config: pair.configB(LINK) });
});

afterEach(async () => {
  await alice.close();
  await bob.close();
  pair.cleanup();
});

type Body = Record<string, unknown> & { error?: { code: string; details: Record<string, unknown> } };
async function call(app: RpcServer, url: string, body: unknown) {
  const res = await app.inject({
    authority: '127.0.0.1:4747',
    method: 'POST',
    url,
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify(body),
  });
  return { status: res.statusCode, body: res.json() as Body };
}
const b64 = (s: string) => Buffer.from(s).toString('base64');

async function open(app: RpcServer, contact: string): Promise<string> {
  const r = await call(app, '/package', { contact, session: ASK });
  expect(r.status).toBe(200);
  return (r.body.session as { id: string }).id;
}

describe('pipe sessions on the link', () => {
  it('opens a session through the screen, then packages and unpackages several frames per request', async () => {
    const ida = await open(alice, 'bob');
    const idb = await open(bob, 'alice');
    expect(screenA.asked).toHaveLength(1);
    const p = await call(alice, '/package', { contact: 'bob', sessionId: ida, frames: [b64('one'), b64('two')] });
    expect(p.status).toBe(200);
    const pkgs = p.body.packages as string[];
    expect(pkgs).toHaveLength(2);
    expect(p.body.session).toMatchObject({ state: 'running', framesSent: 2, sentBytes: 6 });
    const u = await call(bob, '/unpackage', { sessionId: idb, packages: pkgs });
    expect(u.status).toBe(200);
    const frames = u.body.frames as { bytes: string }[];
    expect(frames.map((f) => Buffer.from(f.bytes, 'base64').toString())).toEqual(['one', 'two']);
    // A single session package is an ordinary v2 package: the plain unpackage path takes it too (after a
    // replay check: it was received already).
    const again = await call(bob, '/unpackage', { package: pkgs[0] });
    expect(again.body.error?.code).toBe('REPLAY');
    // Keepalive, then end.
    const k = await call(alice, '/package', { contact: 'bob', sessionId: ida, frames: [] });
    expect(k.body.packages).toEqual([]);
    const e = await call(alice, '/package', { contact: 'bob', sessionId: ida, frames: [], end: true });
    expect(e.body.session).toMatchObject({ state: 'ended', endReason: 'closed' });
    const after = await call(alice, '/package', { contact: 'bob', sessionId: ida, frames: [b64('x')] });
    expect(after.status).toBe(409);
    expect(after.body.error).toMatchObject({ code: 'SESSION_ENDED', details: { reason: 'closed' } });
  });

  it('refuses mixed and partial shapes before the engine, and the ledger stays byte-identical', async () => {
    const id = await open(alice, 'bob');
    const before = stateHash(pair.dirA);
    const bad: unknown[] = [
      { contact: 'bob', sessionId: id },
      { contact: 'bob', frames: [b64('x')] },
      { contact: 'bob', text: 'hi', sessionId: id, frames: [b64('x')] },
      { contact: 'bob', session: ASK, sessionId: id, frames: [] },
      { contact: 'bob', session: { ...ASK, extra: 1 } },
      { contact: 'bob', session: { budgetBytes: 100 } },
      { contact: 'bob', sessionId: id.toUpperCase(), frames: [b64('x')] },
      { contact: 'bob', sessionId: id, frames: ['not base64!'] },
      { contact: 'bob', sessionId: id, frames: Array.from({ length: 1025 }, () => b64('x')) },
      { contact: 'bob', sessionId: id, frames: [b64('x')], end: 'yes' },
    ];
    for (const body of bad) {
      const r = await call(alice, '/package', body);
      expect(r.status, JSON.stringify(body).slice(0, 80)).toBe(400);
    }
    const ubad: unknown[] = [{ sessionId: id }, { packages: [] }, { sessionId: id, packages: [], package: 'AAAA' }];
    for (const body of ubad) expect((await call(alice, '/unpackage', body)).status).toBe(400);
    // The session is for bob: naming another contact is refused too.
    const other = await call(alice, '/package', { contact: 'carol', sessionId: id, frames: [b64('x')] });
    expect(other.body.error?.code).toBe('INVALID_ARGUMENT');
    expect(stateHash(pair.dirA)).toBe(before);
  });

  it('a device whose confirmer shows no session screen opens none', async () => {
    await alice.close();
    pair.cleanup();
    pair = makePair(1 << 16);
    alice = build({
      engine: pair.openA({ confirmer: new ScriptedConfirmer('approved') }, LINK),
      config: pair.configA(LINK),
    });
    bob = build({ engine: pair.openB({}, LINK), config: pair.configB(LINK) });
    const r = await call(alice, '/package', { contact: 'bob', session: ASK });
    expect(r.body.error).toMatchObject({ code: 'SESSION_UNAVAILABLE' });
  });
});
