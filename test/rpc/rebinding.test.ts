/**
 * DNS rebinding and other web pages against the link, over real sockets and a real engine: a page that rebinds
 * its name to the device reaches it from the peer's own address, so only the Host it names and the Origin and
 * fetch metadata its browser adds tell it apart. Every such request is refused with a registry code before the
 * engine: no segment burned (the ledger is byte-identical), no prompt on the screen, and the owner's client
 * still opens the same package afterwards.
 */
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERRORS, type ErrorCode } from '../../device/errors.js';
import { LinkClient } from '../../rpc/client.js';
import { errorResponseSchema } from '../../rpc/protocol.js';
import { build, listen, type RpcServer } from '../../rpc/server.js';
import { makePair, type Pair, ScriptedConfirmer } from '../helpers/engine-fixture.js';
import { stateHash } from '../helpers/ledger-snapshot.js';
import { rawPost, rawRequest } from '../helpers/raw-http.js';

const LINK = { link: { address: '127.0.0.1', peer: '127.0.0.1' }, engine: { maxMessageLength: 512 } };
const validError = new Ajv({ strict: true, allowUnionTypes: true }).compile(errorResponseSchema);

let pair: Pair;
let bob: RpcServer;
let bobUser: ScriptedConfirmer;
let port: number;
let pkg: string;

beforeAll(async () => {
  pair = makePair(8192);
  const alice = build({ engine: pair.openA({}, LINK), config: pair.configA(LINK) });
  const r = await alice.inject({
    method: 'POST',
    url: '/package',
    authority: '127.0.0.1:4747',
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({ contact: 'bob', text: 'the secret meeting is at noon' }),
  });
  pkg = (r.json() as { package: string }).package;
  await alice.close();
  bobUser = new ScriptedConfirmer('approved');
  bob = build({ engine: pair.openB({ confirmer: bobUser }, LINK), config: pair.configB(LINK) });
  port = (await listen(bob, pair.configB(LINK).link, { simulated: false, port: 0 })).port;
});

afterAll(async () => {
  await bob?.close();
  pair?.cleanup();
});

function expectCode(a: { status: number; json: unknown; raw: string }, code: ErrorCode): void {
  expect(validError(a.json), a.raw.slice(0, 300)).toBe(true);
  expect((a.json as { error: { code: string } }).error.code).toBe(code);
  expect(a.status).toBe(ERRORS[code].status);
}

describe('a rebound web page', () => {
  it('cannot unpackage: HOST_REFUSED, the segment is not burned, the owner then opens the package', async () => {
    const before = stateHash(pair.dirB);
    // Exactly what a browser sends after evil.example was rebound to the device's address.
    const attack = rawPost('/unpackage', `evil.example:${port}`, JSON.stringify({ package: pkg }), [
      'Origin: http://evil.example',
      'Sec-Fetch-Site: same-origin',
      'Sec-Fetch-Mode: cors',
      'User-Agent: Mozilla/5.0',
    ]);
    for (let i = 0; i < 3; i++) expectCode(await rawRequest(port, attack), 'HOST_REFUSED');
    // Without Origin and fetch metadata (an older browser, a same-origin GET turned POST): still the Host.
    expectCode(
      await rawRequest(port, rawPost('/unpackage', `evil.example:${port}`, JSON.stringify({ package: pkg }))),
      'HOST_REFUSED',
    );
    expect(stateHash(pair.dirB)).toBe(before);
    expect(bobUser.asked).toHaveLength(0);
    const r = await new LinkClient({ url: `http://127.0.0.1:${port}` }).unpackage(pkg);
    expect(r.text).toBe('the secret meeting is at noon');
  });

  it('cannot put a prompt on the screen or fill the queue', async () => {
    const before = stateHash(pair.dirB);
    const body = JSON.stringify({ contact: 'alice', text: 'pay mallory 100' });
    const answers = await Promise.all(
      Array.from({ length: 12 }, () =>
        rawRequest(port, rawPost('/package', `evil.example:${port}`, body, ['Origin: http://evil.example'])),
      ),
    );
    for (const a of answers) expectCode(a, 'HOST_REFUSED');
    expect(bob.rpcQueue.waitingCount).toBe(0);
    expect(bobUser.asked).toHaveLength(0);
    expect(stateHash(pair.dirB)).toBe(before);
  });

  it('a page on another origin posting to the device by its IP: ORIGIN_REFUSED, nothing asked', async () => {
    const before = stateHash(pair.dirB);
    const host = `127.0.0.1:${port}`;
    const body = JSON.stringify({ contact: 'alice', text: 'pay mallory 100' });
    for (const extra of [
      ['Origin: http://evil.example'],
      ['Origin: null'],
      [`Origin: http://${host}`],
      ['Origin: '],
      ['Sec-Fetch-Site: cross-site'],
      ['Sec-Fetch-Site: same-site'],
      ['Sec-Fetch-Site: same-origin'],
      ['Sec-Fetch-Site: NONE'],
      ['Sec-Fetch-Site: none', 'Origin: http://evil.example'],
    ]) {
      expectCode(await rawRequest(port, rawPost('/package', host, body, extra)), 'ORIGIN_REFUSED');
    }
    expect(bobUser.asked).toHaveLength(0);
    expect(stateHash(pair.dirB)).toBe(before);
  });

  it('Sec-Fetch-Site: none (the user typed the address) and no fetch metadata are answered', async () => {
    const host = `127.0.0.1:${port}`;
    const a = await rawRequest(
      port,
      rawPost('/unpackage', host, JSON.stringify({ package: 'AAAA' }), ['Sec-Fetch-Site: none']),
    );
    // Answered by the engine (the four bytes are no package), not refused at the door.
    expectCode(a, 'MALFORMED');
  });
});

describe('the Host header must be the link address and the port, as an IP literal', () => {
  const refused = (p: number): [string, string | null][] => [
    ['missing', null],
    ['empty', ''],
    ['a DNS name', `localhost:${p}`],
    ['the rebinding name', `evil.example:${p}`],
    ['the address with a trailing dot', `127.0.0.1.:${p}`],
    ['no port (80 is not the link port)', '127.0.0.1'],
    ['another port', `127.0.0.1:${p + 1}`],
    ['the port with a leading zero', `127.0.0.1:0${p}`],
    ['the port twice', `127.0.0.1:${p}:${p}`],
    ['a name after the port', `127.0.0.1:${p}.evil.example`],
    ['userinfo', `evil@127.0.0.1:${p}`],
    ['the address as one number', `2130706433:${p}`],
    ['the address in hex', `0x7f.0.0.1:${p}`],
    ['the address in octal', `0177.0.0.1:${p}`],
    ['a short form', `127.1:${p}`],
    ['another loopback address', `127.0.0.2:${p}`],
    ['the mapped form', `[::ffff:127.0.0.1]:${p}`],
    ['IPv4 in brackets', `[127.0.0.1]:${p}`],
    ['a space', `127.0.0.1 :${p}`],
    ['two values', `127.0.0.1:${p}, evil.example`],
  ];
  it('refuses every other spelling with HOST_REFUSED (raw requests)', async () => {
    const before = stateHash(pair.dirB);
    for (const [name, host] of refused(port)) {
      const a = await rawRequest(port, rawPost('/unpackage', host, JSON.stringify({ package: pkg })));
      expect(a.status, name).toBe(421);
      expectCode(a, 'HOST_REFUSED');
    }
    // HTTP/1.0 without a Host.
    expectCode(await rawRequest(port, 'GET / HTTP/1.0\r\n\r\n'), 'HOST_REFUSED');
    expect(stateHash(pair.dirB)).toBe(before);
    expect(bobUser.asked).toHaveLength(0);
  });

  it('the unknown-path answer needs the right Host too: a page learns nothing', async () => {
    expectCode(await rawRequest(port, `GET / HTTP/1.1\r\nHost: evil.example:${port}\r\n\r\n`), 'HOST_REFUSED');
    const ok = await rawRequest(port, `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
    expectCode(ok, 'NOT_FOUND');
  });
});

describe('the host client', () => {
  it('names the URL host by default; hostHeader names the link address through a port forward', async () => {
    const url = `http://127.0.0.1:${port}`;
    await expect(new LinkClient({ url, hostHeader: `evil.example:${port}` }).unpackage('AAAA')).rejects.toMatchObject({
      code: 'HOST_REFUSED',
    });
    await expect(new LinkClient({ url, hostHeader: `127.0.0.1:${port}` }).unpackage('AAAA')).rejects.toMatchObject({
      code: 'MALFORMED',
    });
    await expect(new LinkClient({ url: `http://localhost:${port}` }).unpackage('AAAA')).rejects.toMatchObject({
      code: 'HOST_REFUSED',
    });
  });
});

describe('an IPv6 link address', () => {
  it('is named in brackets, in any spelling of the same address; without brackets or port it is refused', async () => {
    const six = { link: { address: '::1', peer: '::1' }, engine: { maxMessageLength: 512 } };
    // A pair of its own: the suite's bob already holds his data dir (one process, one engine per data dir).
    const own = makePair(8192, 'ipv6');
    const app = build({
      engine: own.openB({ confirmer: new ScriptedConfirmer('denied') }, six),
      config: own.configB(six),
    });
    try {
      const p = (await listen(app, own.configB(six).link, { simulated: false, port: 0 })).port;
      const send = (host: string) =>
        rawRequest(p, rawPost('/unpackage', host, JSON.stringify({ package: 'AAAA' })), { host: '::1' });
      expectCode(await send(`[::1]:${p}`), 'MALFORMED');
      expectCode(await send(`[0:0:0:0:0:0:0:1]:${p}`), 'MALFORMED');
      for (const host of [
        `::1:${p}`,
        '[::1]',
        `[::2]:${p}`,
        `[::1%lo]:${p}`,
        `[::ffff:127.0.0.1]:${p}`,
        `localhost:${p}`,
      ]) {
        expectCode(await send(host), 'HOST_REFUSED');
      }
      const r = new LinkClient({ url: `http://[::1]:${p}` }).unpackage('AAAA');
      await expect(r).rejects.toMatchObject({ code: 'MALFORMED' });
    } finally {
      await app.close();
      own.cleanup();
    }
  });
});
