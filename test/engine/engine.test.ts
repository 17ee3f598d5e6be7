import { readFileSync, statSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { padFilePath } from '../../device/pad-file.js';
import { makePair, type Pair, ScriptedConfirmer, text, utf8 } from '../helpers/engine-fixture.js';

let pair: Pair;
beforeEach(() => {
  pair = makePair(4096);
});
afterEach(() => pair.cleanup());

describe('DeviceEngine round trips', () => {
  it('packages on A and unpackages on B, and back', async () => {
    const a = pair.openA();
    const b = pair.openB();
    const p1 = await a.package('bob', utf8('hello bob'));
    expect(p1.cost).toBe(9 + 32);
    expect(p1.package.length).toBe(30 + 9 + 16);
    expect(p1.remaining).toBe(2048 - 41);
    expect(p1.insecure).toBe(true);
    const r1 = await b.unpackage(p1.package);
    expect(r1.contact).toBe('alice');
    expect(text(r1.plaintext)).toBe('hello bob');
    expect(r1.gaps).toEqual([]);

    const p2 = await b.package('alice', utf8('hi alice'));
    const start = new DataView(p2.package.buffer).getBigUint64(18);
    expect(Number(start)).toBe(4096 - 40);
    expect(p2.package[1]).toBe(1);
    const r2 = await a.unpackage(p2.package);
    expect(text(r2.plaintext)).toBe('hi alice');
  });

  it('shows the user exactly what is asked and encrypts nothing when denied', async () => {
    const confirmer = new ScriptedConfirmer('denied');
    const a = pair.openA({ confirmer });
    await expect(a.package('bob', utf8('secret'))).rejects.toMatchObject({ code: 'DENIED' });
    expect(confirmer.asked).toHaveLength(1);
    const req = confirmer.asked[0];
    expect(req).toMatchObject({ kind: 'encrypt', contact: 'bob', cost: 38, remainingAfter: 2048 - 38, insecure: true });
    expect(a.pads()[0]?.cursor).toBe(0);
    confirmer.answer = 'timeout';
    await expect(a.package('bob', utf8('secret'))).rejects.toMatchObject({ code: 'CONFIRM_TIMEOUT' });
    confirmer.answer = 'busy';
    await expect(a.package('bob', utf8('secret'))).rejects.toMatchObject({ code: 'BUSY' });
    expect(a.pads()[0]?.cursor).toBe(0);
  });

  it('burns every used segment, sent and received, in the pad files', async () => {
    const a = pair.openA();
    const b = pair.openB();
    const p = await a.package('bob', utf8('burn me'));
    await b.unpackage(p.package);
    for (const dir of [pair.dirA, pair.dirB]) {
      const bytes = readFileSync(padFilePath(`${dir}/pads`, pair.padId));
      expect(bytes.subarray(0, 39).every((x) => x === 0)).toBe(true);
      expect(bytes.subarray(39, 80).some((x) => x !== 0)).toBe(true);
    }
  });

  it('keeps used bytes when burning is off', async () => {
    const a = pair.openA({}, { engine: { burn: false } });
    await a.package('bob', utf8('keep'));
    const bytes = readFileSync(padFilePath(`${pair.dirA}/pads`, pair.padId));
    expect(bytes.subarray(0, 36).some((x) => x !== 0)).toBe(true);
  });

  it('rejects replay, reflection and forgery with their own codes', async () => {
    const a = pair.openA();
    const b = pair.openB();
    const p = await a.package('bob', utf8('once'));
    await expect(a.unpackage(p.package)).rejects.toMatchObject({ code: 'REFLECTION' });
    await b.unpackage(p.package);
    await expect(b.unpackage(p.package)).rejects.toMatchObject({ code: 'REPLAY' });
    const p2 = await a.package('bob', utf8('twice'));
    const forged = p2.package.slice();
    forged[31] = (forged[31] as number) ^ 1;
    await expect(b.unpackage(forged)).rejects.toMatchObject({ code: 'MAC_INVALID' });
    expect((await b.unpackage(p2.package)).plaintext).toEqual(utf8('twice'));
    const kinds = b.events.recent(10).map((e) => e.kind);
    expect(kinds).toEqual(expect.arrayContaining(['REPLAY', 'MAC_FAILURE']));
  });

  it('reports gaps and accepts late arrivals', async () => {
    const a = pair.openA();
    const b = pair.openB();
    const m1 = await a.package('bob', utf8('one'));
    const m2 = await a.package('bob', utf8('two'));
    const m3 = await a.package('bob', utf8('three'));
    const r1 = await b.unpackage(m1.package);
    expect(r1.gaps).toEqual([]);
    const r3 = await b.unpackage(m3.package);
    expect(r3.gaps).toEqual([{ start: 35, end: 70 }]);
    const r2 = await b.unpackage(m2.package);
    expect(r2.late).toBe(true);
    expect(r2.gaps).toEqual([]);
    expect(text(r2.plaintext)).toBe('two');
  });

  it('never crosses the split: PAD_EXHAUSTED says what is left', async () => {
    const a = pair.openA();
    const big = new Uint8Array(2048 - 32 - 10).fill(7);
    const p = await a.package('bob', big);
    expect(p.remaining).toBe(10);
    expect(p.maxMessageLength).toBe(0);
    await expect(a.package('bob', utf8('x'))).rejects.toMatchObject({
      code: 'PAD_EXHAUSTED',
      details: { remaining: 10, needed: 33, maxMessageLength: 0 },
    });
    expect(a.pads()[0]?.state).toBe('exhausted');
    expect(a.pads()[0]?.cursor).toBe(2038);
  });

  it('validates its arguments with typed errors', async () => {
    const a = pair.openA();
    await expect(a.package('', utf8('x'))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(a.package('bob', new Uint8Array())).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(a.package('bob', 'str' as unknown as Uint8Array)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(a.package('carol', utf8('x'))).rejects.toMatchObject({ code: 'UNKNOWN_CONTACT' });
    await expect(a.package('bob', new Uint8Array(65537))).rejects.toMatchObject({ code: 'MESSAGE_TOO_LONG' });
    await expect(a.unpackage(new Uint8Array(10))).rejects.toMatchObject({ code: 'MALFORMED' });
  });

  it('keeps the data dir 0700 and pad files 0600', () => {
    pair.openA();
    expect(statSync(pair.dirA).mode & 0o777).toBe(0o700);
    expect(statSync(`${pair.dirA}/pads`).mode & 0o777).toBe(0o700);
    expect(statSync(padFilePath(`${pair.dirA}/pads`, pair.padId)).mode & 0o777).toBe(0o600);
  });

  it('private receive shows the plaintext on the device and returns none', async () => {
    const shown: string[] = [];
    const a = pair.openA();
    const b = pair.openB(
      { privateDisplay: { showReceived: (m) => shown.push(text(m.plaintext)) } },
      { confirm: { privateReceive: true } },
    );
    const p = await a.package('bob', utf8('eyes only'));
    const r = await b.unpackage(p.package);
    expect(r.plaintext).toBeNull();
    expect(r.length).toBe(9);
    expect(shown).toEqual(['eyes only']);
  });
});
