/**
 * A text request whose bytes are not UTF-8 is refused with INVALID_ARGUMENT before the engine, never decoded
 * into U+FFFD and encrypted. Raw bytes in the JSON string: stray continuation bytes, overlong forms, encoded
 * surrogates (CESU-8 pairs and lone ones), code points above U+10FFFF, truncated sequences, 5- and 6-byte forms.
 * Property: for any bytes spliced into a text, the server accepts exactly when they are UTF-8, and then the
 * engine gets exactly those bytes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../device/config/config.js';
import { build, type RpcServer } from '../../rpc/server.js';
import { FakeEngine } from './fake-engine.js';

function setup(): { app: RpcServer; engine: FakeEngine } {
  const engine = new FakeEngine();
  const config = parseConfig({
    dataDir: '/nonexistent/unused',
    engine: { maxMessageLength: 200 },
    link: { address: '127.0.0.1', peer: '127.0.0.1' },
  });
  return { app: build({ engine, config }), engine };
}

/** `{"contact":"bob","text":"pay <bytes> 100"}` with the bytes raw in the JSON string. */
function body(bytes: readonly number[]): Buffer {
  return Buffer.concat([Buffer.from('{"contact":"bob","text":"pay '), Buffer.from(bytes), Buffer.from(' 100"}')]);
}

function post(app: RpcServer, payload: Buffer, url = '/package') {
  return app.inject({
    method: 'POST',
    url,
    authority: '127.0.0.1:4747',
    headers: { 'content-type': 'application/json' },
    payload,
  });
}

const invalid: [string, number[]][] = [
  ['0xff 0xfe', [0xff, 0xfe]],
  ['a stray continuation byte', [0x80]],
  ['a lead byte without its continuation', [0xc3]],
  ['a truncated 3-byte sequence', [0xe2, 0x82]],
  ['a truncated 4-byte sequence', [0xf0, 0x9f, 0x98]],
  ['overlong "/" (2 bytes)', [0xc0, 0xaf]],
  ['overlong NUL (2 bytes)', [0xc0, 0x80]],
  ['overlong "/" (3 bytes)', [0xe0, 0x80, 0xaf]],
  ['overlong "/" (4 bytes)', [0xf0, 0x80, 0x80, 0xaf]],
  ['overlong quote, to break out of the string', [0xc0, 0xa2]],
  ['CESU-8 surrogate pair for U+1F600', [0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80]],
  ['a lone high surrogate (CESU-8)', [0xed, 0xa0, 0x80]],
  ['a lone low surrogate (CESU-8)', [0xed, 0xbf, 0xbf]],
  ['above U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
  ['a 5-byte form', [0xf8, 0x88, 0x80, 0x80, 0x80]],
  ['a 6-byte form', [0xfc, 0x84, 0x80, 0x80, 0x80, 0x80]],
  ['0xfe alone', [0xfe]],
  ['Latin-1 "é"', [0xe9]],
];

describe('invalid UTF-8 in a request body', () => {
  it.each(invalid)('%s is INVALID_ARGUMENT, before the engine', async (_name, bytes) => {
    const { app, engine } = setup();
    const r = await post(app, body(bytes));
    expect(r.statusCode).toBe(400);
    expect(r.json()).toMatchObject({ error: { code: 'INVALID_ARGUMENT', details: { reason: 'not UTF-8' } } });
    expect(r.body).not.toContain('\ufffd');
    expect(engine.calls).toHaveLength(0);
    await app.close();
  });

  it('in an unpackage body too', async () => {
    const { app, engine } = setup();
    const r = await post(
      app,
      Buffer.concat([Buffer.from('{"package":"AAAA'), Buffer.from([0xc0, 0x80]), Buffer.from('"}')]),
      '/unpackage',
    );
    expect(r.json()).toMatchObject({ error: { code: 'INVALID_ARGUMENT', details: { reason: 'not UTF-8' } } });
    expect(engine.calls).toHaveLength(0);
    await app.close();
  });

  it('valid UTF-8 of every length passes through exactly (U+FFFD itself, sent as such, is text)', async () => {
    const { app, engine } = setup();
    const text = 'é ✓ 😀 \ufffd \u{10ffff}';
    const r = await post(app, body([...Buffer.from(text, 'utf8')]));
    expect(r.statusCode).toBe(200);
    expect(Buffer.from(engine.calls[0]?.bytes ?? []).toString('utf8')).toBe(`pay ${text} 100`);
    await app.close();
  });

  it('property: accepted exactly when the bytes are UTF-8, and then encrypted as exactly those bytes', async () => {
    const { app, engine } = setup();
    const strict = new TextDecoder('utf-8', { fatal: true });
    await fc.assert(
      fc.asyncProperty(
        fc
          .uint8Array({ minLength: 1, maxLength: 12 })
          .filter((b) => !b.includes(0x22) && !b.includes(0x5c) && b.every((x) => x >= 0x20)),
        async (bytes) => {
          engine.calls.length = 0;
          let valid = true;
          try {
            strict.decode(bytes);
          } catch {
            valid = false;
          }
          const r = await post(app, body([...bytes]));
          if (valid) {
            expect(r.statusCode).toBe(200);
            expect([...(engine.calls[0]?.bytes ?? [])]).toEqual([
              ...Buffer.from('pay '),
              ...bytes,
              ...Buffer.from(' 100'),
            ]);
          } else {
            expect(r.json()).toMatchObject({ error: { code: 'INVALID_ARGUMENT', details: { reason: 'not UTF-8' } } });
            expect(engine.calls).toHaveLength(0);
          }
        },
      ),
      { numRuns: 1000, seed: 4 },
    );
    await app.close();
  });
});
